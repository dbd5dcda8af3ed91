"""Seeded exercise sets: determinism, stratification, answers that agree with the trace, the
answer-sheet checker, the exports and the CLI."""
import json
import re
from urllib.parse import urlsplit

import pytest

from app import create_app
from app.cli import main
from app.permalink import parse_url
from app.present import presenters
from app.sim import MODELS, simulate
from app.teach import exercises

# What each letter means, read from the verdict the page shows (not from the exercise module).
HEADLINE = {"A": r"Mapped Normal, ", "B": r"Mapped Normal Non-cacheable", "C": r"Mapped Device",
            "D": r"Memslot refused", "E": r"Rejected at fault time", "F": r"Abort injected",
            "G": r"(MMIO|NISV) exit"}


@pytest.fixture
def client():
    return create_app({"TESTING": True, "PUBLIC_URL": "https://s2viz.example"}).test_client()


def test_same_seed_same_bytes_in_every_format(client):
    for fmt in ("md", "json", "gift"):
        a = client.get(f"/exercises/?seed=2027&n=8&format={fmt}").data
        b = client.get(f"/exercises/?seed=2027&n=8&format={fmt}").data
        assert a == b and len(a) > 1000
    assert client.get("/exercises/?seed=2027&n=8").data == client.get("/exercises/?seed=2027&n=8").data


def test_different_seeds_give_different_sets():
    sets = {tuple((q.model, q.scenario) for q in exercises.generate(seed, 8).questions) for seed in range(20)}
    assert len(sets) == 20


def test_every_outcome_class_is_reachable_and_a_set_of_seven_has_them_all():
    for level in exercises.LEVELS:
        assert set(exercises._pool("all", level)) == set(exercises.CHOICES)
    for seed in (0, 1, 2027):
        assert sorted(q.answer for q in exercises.generate(seed, 7).questions) == list(exercises.CHOICES)


@pytest.mark.parametrize("seed,level", [(2027, "basic"), (5, "advanced"), (11, "advanced")])
def test_each_answer_is_what_the_trace_decides(seed, level):
    for q in exercises.generate(seed, 12, level=level).questions:
        verdict = presenters.overall_verdict(simulate(q.model, q.scenario))
        assert re.match(HEADLINE[q.answer], verdict.headline), (q.answer, verdict.headline, q.permalink)


def test_a_model_set_asks_only_about_that_model():
    for mid in MODELS:
        es = exercises.generate(3, 10, model=mid)
        assert {q.model for q in es.questions} == {mid} and len(es.questions) == 10


def test_the_question_states_the_scenario_in_words():
    for q in exercises.generate(2027, 8).questions:
        text = q.text
        assert text.startswith("Memory: ") and "Kernel: " in text and "Access: the guest " in text
        assert "host with" in text and "vma=" not in text and "host=" not in text


def test_the_worked_answer_opens_where_the_verdict_is_decided(client):
    for q in exercises.generate(2027, 8).questions:
        mid, parsed = parse_url(q.worked)
        html = client.get(q.worked).data.decode()
        assert re.search(r'class="verdict-box (decided|memslot)', html), q.worked
        if parsed.step and parsed.step > 1:
            before = client.get(q.worked.replace(f"step={parsed.step}", f"step={parsed.step - 1}")).data.decode()
            assert 'class="verdict-box deciding' in before or 'class="verdict-box registered' in before, q.worked


def test_the_worksheet_shows_questions_but_no_answer(client):
    html = client.get("/exercises/?seed=2027&n=8").data.decode()
    assert html.count('data-testid="question"') == 8
    assert 'data-testid="sheet"' not in html and "Answer key" not in html
    key = client.get("/exercises/?seed=2027&n=8&key=1").data.decode()
    sheet = "".join(q.answer for q in exercises.generate(2027, 8).questions)
    assert f'<code data-testid="sheet">{sheet}</code>' in key


def test_checker_grades_a_pasted_sheet(client):
    es = exercises.generate(2027, 8)
    right = "".join(q.answer for q in es.questions)
    html = client.get(f"/exercises/check/?seed=2027&n=8&answers={right}").data.decode()
    assert '<span data-testid="score">8 / 8</span>' in html
    wrong = "".join("A" if c != "A" else "B" for c in right[:3]) + right[3:6].lower()
    html = client.get(f"/exercises/check/?seed=2027&n=8&answers={wrong}").data.decode()
    assert '<span data-testid="score">3 / 8</span>' in html
    assert html.count("Not answered") == 2


def test_checker_grades_the_worksheet_form(client):
    es = exercises.generate(9, 4)
    query = "&".join(f"a{q.n}={q.answer}" for q in es.questions[:3])
    html = client.get(f"/exercises/check/?seed=9&n=4&model=all&level=basic&{query}").data.decode()
    assert '<span data-testid="score">3 / 4</span>' in html


@pytest.mark.parametrize("url,sentence", [
    ("/exercises/?seed=x", "The seed must be a whole number"),
    ("/exercises/?seed=-1", "The seed must be a whole number"),
    ("/exercises/?n=41", "must be a whole number from 1 to 40."),
    ("/exercises/?n=0", "must be a whole number from 1 to 40."),
    ("/exercises/?model=v9", "The model must be"),
    ("/exercises/?level=expert", "The level must be basic or advanced."),
    ("/exercises/?format=pdf", "The format must be html, md, json or gift."),
    ("/exercises/check/?seed=1&n=3&answers=AXQ", "not QX."),
    ("/exercises/check/?seed=1&n=3&answers=ABCD", "There are 3 questions but 4 answers."),
])
def test_bad_input_is_one_sentence_and_400(client, url, sentence):
    r = client.get(url)
    assert r.status_code == 400
    message = re.search(r'data-testid="error">([^<]*)<', r.data.decode()).group(1)
    assert sentence in message.replace("&#39;", "'") and message.count(". ") == 0 and message.endswith(".")


def test_json_export_links_each_question_to_its_permalink(client):
    data = json.loads(client.get("/exercises/?seed=4&n=6&format=json").data)
    assert data["schema"] == 1 and len(data["questions"]) == 6 and set(data["choices"]) == set(exercises.CHOICES)
    for q in data["questions"]:
        path = urlsplit(q["permalink"])
        assert client.get(path.path + "?" + path.query).status_code == 200
        assert q["answer"] in data["choices"]


def test_markdown_puts_the_answers_after_the_questions(client):
    md = client.get("/exercises/?seed=4&n=6&format=md").data.decode()
    assert md.index("## Question 6") < md.index("# Answers") < md.index("Answer sheet: ")
    assert "page-break-before" in md


def test_gift_has_one_right_answer_per_question_and_escapes_its_specials(client):
    gift = client.get("/exercises/?seed=4&n=6&format=gift").data.decode()
    blocks = re.findall(r"::s2viz 4 Q\d+::(.*?)\n\}", gift, re.S)
    assert len(blocks) == 6
    for b in blocks:
        assert len(re.findall(r"^  =", b, re.M)) == 1 and len(re.findall(r"^  ~", b, re.M)) == 6
        stem = b.split(" {\n", 1)[0]
        assert "\\:" in stem and not re.findall(r"(?<!\\)[=:{}~#]", stem)
        assert "https\\://s2viz.example/" in b


def test_cli_prints_the_same_set(capsys):
    assert main(["exercises", "--seed", "7", "--n", "10", "--markdown"]) == 0
    first = capsys.readouterr().out
    assert main(["exercises", "--seed", "7", "--n", "10"]) == 0
    assert capsys.readouterr().out == first and first.count("## Question ") == 10
    assert main(["exercises", "--seed", "7", "--n", "3", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["questions"]) == 3


def test_cli_bad_count_exits_2_with_one_line(capsys):
    assert main(["exercises", "--n", "99"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "from 1 to 40" in err


# ---- "is this safe?" and the paragraphs on why (issue 15) -------------------------------------------

def test_outcome_sets_are_the_ones_older_links_name():
    """ask=outcome is the default and draws as before: a stored exercise link keeps its questions."""
    es = exercises.generate(2027, 8)
    assert es.query == "seed=2027&n=8&model=all&level=basic" and {q.kind for q in es.questions} == {"outcome"}
    assert exercises.generate(2027, 8, ask="outcome") == es


def test_a_safety_set_reaches_every_hazard_verdict_and_its_answers_are_the_traces():
    from app.teach import questions
    assert set(exercises._pool("all", "basic", "safe")) == set(exercises.SAFE)
    es = exercises.generate(2027, 7, ask="safe")
    assert sorted(q.answer for q in es.questions) == list(exercises.SAFE)
    kinds = {"A": None, "B": "host_oops", "C": "foreign_memory", "D": "lock_leak", "E": ("ref_leak", "ref_imbalance"),
             "F": "stale_data", "G": "livelock"}
    for q in es.questions:
        h = questions.hazard(simulate(q.model, q.scenario))
        kind = h[0]["kind"] if h else None
        assert kind == kinds[q.answer] or kind in (kinds[q.answer] or ()), (q.answer, kind, q.permalink)
        assert q.text.endswith("Is this safe for the host?")


def test_a_mixed_set_alternates_the_two_questions(client):
    es = exercises.generate(5, 6, ask="mixed")
    assert [q.kind for q in es.questions] == ["outcome", "safe"] * 3
    html = client.get("/exercises/?seed=5&n=6&ask=mixed").data.decode()
    assert "“What happens?”" in html and "“Is this safe for the host?”" in html
    assert 'name="ask" value="mixed"' in html          # the answer sheet keeps the set's keys


@pytest.mark.parametrize("ask", ["outcome", "safe"])
def test_the_key_and_the_checker_explain_every_answer_in_a_paragraph(client, ask):
    es = exercises.generate(2027, 6, ask=ask)
    key = client.get(f"/exercises/?{es.query}&key=1").data.decode()
    answers = re.findall(r'data-testid="key-answer">(.*?)</li>', key, re.S)
    assert len(answers) == 6
    checked = client.get(f"/exercises/check/?{es.query}&answers=------").data.decode()
    whys = re.findall(r'<p class="why" data-testid="why">(.*?)</p>', checked, re.S)
    assert len(whys) == 6
    for q, why in zip(es.questions, whys, strict=True):
        words = re.sub(r"<[^>]+>", "", re.sub(r'<span class="term-def".*?</span>', "", why, flags=re.S))
        assert len(words.split()) >= 15 and words.count(".") >= 1, words        # a paragraph, not a label
        assert words.startswith(q.explanation[:20].replace("'", "&#39;")), (words[:60], q.explanation[:60])


def test_a_safety_answer_names_the_hazard_and_what_removed_it():
    q = next(q for q in exercises.generate(2027, 7, ask="safe").questions if q.answer == "B")
    assert "oops" in q.explanation and "What removed it:" in q.explanation and "DIC" in q.explanation


def test_exports_carry_the_kind_and_the_paragraph(client):
    data = json.loads(client.get("/exercises/?seed=4&n=4&ask=mixed&format=json").data)
    assert data["ask"] == "mixed" and [q["kind"] for q in data["questions"]] == ["outcome", "safe"] * 2
    assert all(len(q["why"].split()) >= 15 for q in data["questions"])
    gift = client.get("/exercises/?seed=4&n=4&ask=safe&format=gift").data.decode()
    assert gift.count("~No\\: ") + gift.count("=No\\: ") >= 4 * 5


def test_bad_ask_is_one_sentence(client):
    r = client.get("/exercises/?ask=maybe")
    assert r.status_code == 400 and "The questions (ask) must be outcome, safe or mixed." in r.data.decode()


def test_cli_draws_a_safety_set_with_links_at_the_public_url(monkeypatch, capsys):
    monkeypatch.setenv("S2VIZ_PUBLIC_URL", "https://s2viz.example")
    assert main(["exercises", "--seed", "7", "--n", "3", "--ask", "safe", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ask"] == "safe" and all(q["worked"].startswith("https://s2viz.example/") for q in data["questions"])
