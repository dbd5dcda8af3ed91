"""Lessons through the client: each lesson's questions test the point its goal states, the answers
lock (Back, a resubmitted form and an edited address change nothing), the reveal opens where the
outcome is decided and links back, the score survives the site's own links, and a finished
lesson's result code verifies (and a changed one does not)."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from app import create_app
from app.permalink import parse_url
from app.sim import simulate
from app.teach import lessons, questions, tokens
from app.teach.curriculum import LESSONS

# How a goal says each point in words: the goal must name what its questions test.
POINT_WORDS = {"fault": "fault", "outcome": "where", "size": "how much", "memtype": "memory type",
               "cmo": "cache maintenance", "safe": "safe", "guest": "guest"}


@pytest.fixture
def client():
    return create_app({"TESTING": True, "SECRET": "a-class-secret"}).test_client()


def keys_by_point(lesson):
    out = {}
    for part in lesson.parts:
        tr = lessons.trace(part)
        for k in part.kinds():
            out.setdefault(k.point, []).append(k.key(tr))
    return out


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_every_lesson_asks_what_its_goal_says_it_teaches(lesson):
    by_point = keys_by_point(lesson)
    for point in lesson.points:
        assert POINT_WORDS[point] in lesson.goal.lower(), (point, lesson.goal)
        keys = by_point.get(point, [])
        assert len(keys) >= 2, f"{lesson.id} teaches {point} but asks it {len(keys)} time(s)"
        assert len(set(keys)) >= 2, f"{lesson.id}: every {point} question has the answer {keys[0]}"
    for part in lesson.parts:
        assert part.asks and {k.point for k in part.kinds()} & (set(lesson.points) | {"safe", "guest", "outcome"})
        tr = lessons.trace(part)
        for k in part.kinds():
            key = k.key(tr)
            assert key and all(c in k.choices for c in key) and (k.multi or len(key) == 1), (part.link, k.id)
            assert k.explain(tr) and k.focus(tr), (part.link, k.id)


def test_the_primer_comes_first_and_explains_its_words():
    first = LESSONS[0]
    assert first.id == "first-fault" and "anonymous" in first.intro.lower()
    for word in ("memslot", "VMM", "stage-2 fault", "translation fault", "permission fault"):
        assert word in first.intro, word
    assert [k for part in first.parts for k in lessons.key(part)][:2] == ["A", "A"]   # translation fault, mapped


def test_the_size_lesson_asks_the_size_and_its_answers_are_the_mapped_sizes():
    lesson = lessons.by_id("leaf-size")
    sizes = {1 << 12: "A", 1 << 21: "B", 1 << 30: "C"}
    for part in lesson.parts:
        assert part.asks == ("size", "why_size")
        f = lessons.trace(part).faults[-1]
        assert lessons.key(part)[0] == sizes[f.s2.size]
    assert lessons.key(lesson.parts[0]) == ("C", "A")          # v7.1: 1 GiB, from the VMA
    assert lessons.key(lesson.parts[1]) == ("B", "B")          # v7.3: 2 MiB, from the host's leaf
    assert "1 GiB-aligned" in lesson.parts[0].setting and "pg=1g" in lesson.parts[0].setting


def test_the_fwb_lesson_asks_which_cache_maintenance_runs():
    lesson = lessons.by_id("fwb-dic")
    assert [lessons.key(p)[0] for p in lesson.parts[:4]] == ["AD", "BD", "C", "BC"]
    assert lessons.key(lesson.parts[3])[1] == "B"               # v3 without DIC: the host oopses


def test_the_grace_hopper_lesson_shows_the_guests_side():
    lesson = lessons.by_id("grace-hopper")
    guest = {p.link: lessons.key(p)[p.asks.index("guest")] for p in lesson.parts if "guest" in p.asks}
    ua_614 = next(link for link in guest if link.startswith("/v6.14/") and link.endswith(".ua"))
    ua_617 = next(link for link in guest if link.startswith("/v6.17/") and link.endswith(".ua"))
    assert guest[ua_614] == "C" and guest[ua_617] == "A"       # the VM stops on v6.14; it completes on v6.17
    mid, parsed = parse_url(ua_614)
    f = simulate(mid, parsed.scenario).faults[-1]
    assert f.guest_result == {"kind": "alignment_fault", "el": 2, "why": "s2_device"}


def test_a_safety_answer_that_ignores_the_hazard_is_wrong():
    part = lessons.by_id("v3-patch").parts[2]          # the COW PFNMAP: -EINVAL with mmap_lock held
    tr = lessons.trace(part)
    assert questions.KINDS["safe"].key(tr) == "D" and "mmap_lock" in questions.KINDS["safe"].explain(tr)


def changes_name_the_difference():
    gh = lessons.by_id("grace-hopper").parts
    before, now = lessons.scenario(gh[2]), lessons.scenario(gh[3])
    return lessons.changes(before, now)


def test_each_part_says_what_changed_from_the_part_before():
    assert changes_name_the_difference() == ("Changed from the part before: the host is now a host with neither FWB "
                                             "nor DIC; now the guest reads from IPA 0x40000000.")
    leaf = lessons.by_id("leaf-size").parts
    assert lessons.changes(lessons.scenario(leaf[2]), lessons.scenario(leaf[3])) == (
        "Changed from the part before: the kernel is now mainline v7.1.3 (v7.1) instead of v6.12; the VMA no longer "
        "has VM_PFNMAP; the VMA now has VM_MIXEDMAP; the VMA no longer has VM_ALLOW_ANY_UNCACHED; the VMA's "
        "pgprot is now MT_DEVICE_nGnRE; the host's leaf size is now 2M.")


def answer(client, lid, url=None):
    """Answer the part the page shows with the key, through the lesson's own form: the next address."""
    html = client.get(url or f"/lessons/{lid}/").data.decode()
    form = re.search(r'<form class="predict" method="get" action="([^"]+)">(.*?)</form>', html, re.S)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(2)))
    part = lessons.by_id(lid).parts[int(hidden["p"]) - 1]
    given = {f"q{j}": list(k) for j, k in enumerate(lessons.key(part), 1)}
    r = client.get(form.group(1), query_string={**hidden, **given})
    assert r.status_code == 302
    return r.headers["Location"]


def test_every_lesson_plays_to_a_full_score_and_its_result_code_verifies(client):
    for lesson in LESSONS:
        url = None
        for _ in lesson.parts:
            url = re.sub(r"&p=\d+$", "", answer(client, lesson.id, url))
        html = client.get(url).data.decode()
        n = len(lesson.parts)
        assert f'<strong data-testid="score">{n} / {n}</strong>' in html and 'data-testid="done"' in html
        code = re.search(r'data-copy="([^"]+)"', html).group(1)
        checked = client.get("/lessons/verify/", query_string={"codes": code}).data.decode()
        assert f"{n} / {n} parts" in checked and 'data-testid="valid"' in checked


def test_a_locked_answer_cannot_be_changed_by_back_or_by_editing_the_address(client):
    wrong = client.get("/lessons/first-fault/lock/", query_string={"p": "1", "q1": "B", "q2": "C"})
    locked = wrong.headers["Location"]
    assert "0 / 1" in client.get(locked).data.decode()
    # Back to the form, and the form sent again with the right answers: the lock holds
    again = client.get("/lessons/first-fault/lock/", query_string={"p": "1", "q1": "A", "q2": "A"})
    assert again.status_code == 302 and again.headers["Location"] == locked
    assert client.get("/lessons/first-fault/").headers["Location"].startswith(locked.split("&p=")[0])
    # the token edited to say the right answers
    t = parse_qs(urlsplit(locked).query)["t"][0]
    edited = t.replace("~B.C~", "~A.A~")
    r = client.get("/lessons/first-fault/", query_string={"t": edited, "p": "1"})
    assert r.status_code == 400 and "changed after this site wrote it" in r.data.decode()
    assert client.get("/lessons/first-fault/lock/", query_string={"t": edited, "p": "2", "q1": "D"}).status_code == 400
    # an older page of the same attempt (after Back) opens on the newest state
    nxt = client.get("/lessons/first-fault/lock/", query_string={"t": t, "p": "2", "q1": "D"}).headers["Location"]
    older = client.get("/lessons/first-fault/", query_string={"t": t, "p": "1"})
    assert older.status_code == 302 and older.headers["Location"].split("&p=")[0] == nxt.split("&p=")[0]
    stale = client.get("/lessons/first-fault/lock/", query_string={"t": t, "p": "2", "q1": "A"})
    assert stale.headers["Location"].split("&p=")[0] == nxt.split("&p=")[0]


def test_a_token_from_another_server_or_lesson_does_not_count(client):
    other = tokens.Progress("first-fault", 2, "tpnbigw8r", ("A.A",))
    r = client.get("/lessons/first-fault/", query_string={"t": tokens.token(other, "another-secret")})
    assert r.status_code == 400 and "changed after this site wrote it" in r.data.decode()
    r = client.get("/lessons/grace-hopper/", query_string={"t": tokens.token(other, "a-class-secret")})
    assert r.status_code == 400


def test_the_score_survives_the_sites_own_links(client):
    loc = answer(client, "grace-hopper")
    index = client.get("/lessons/").data.decode()
    assert re.search(r'data-testid="progress">1 of 6 parts answered, 1 right', index)
    resumed = client.get("/lessons/grace-hopper/")
    assert resumed.status_code == 302 and resumed.headers["Location"].split("&p=")[0] == loc.split("&p=")[0]
    back = client.get("/lessons/grace-hopper/?p=1")
    assert back.status_code == 302 and "t=" in back.headers["Location"]


def test_the_reveal_opens_at_the_deciding_step_and_links_back_to_the_part(client):
    for lesson in LESSONS:
        game = lessons.Play(lesson, tokens.Progress(lesson.id, lesson.edition, "tpnbigw8r",
                                                    tuple(".".join(lessons.key(p)) for p in lesson.parts)), 1, "s")
        for part, row in zip(lesson.parts, game.parts(), strict=True):
            tr = lessons.trace(part)
            want = questions.decider(tr)
            reveal = row["reveal"]
            assert reveal.endswith(f"&lesson={lesson.id}.{row['n']}")
            step = re.search(r"[?&]step=(\d+)", reveal)
            assert (int(step.group(1)) if step else len(tr.all_steps())) == want
            if tr.memslot.result == "ok":
                assert want == len(tr.memslot.steps) + len(tr.capability.steps) + sum(
                    len(f.steps) for f in tr.faults[:-1]) + tr.faults[-1].decider + 1
            html = client.get(reveal).data.decode()
            assert f'href="/lessons/{lesson.id}/?p={row["n"]}"' in html, reveal


@pytest.mark.parametrize("query,sentence", [
    ("p=9", "The part (p) must be a number from 1 to 6."),
    ("t=garbage", "is not a token this site wrote"),
    ("t=2~tpnbigw8r~A~0123456789abcdef", "changed after this site wrote it"),
])
def test_lesson_bad_progress_is_one_sentence_and_400(client, query, sentence):
    r = client.get(f"/lessons/grace-hopper/?{query}")
    assert r.status_code == 400 and sentence in r.data.decode()


@pytest.mark.parametrize("query,sentence", [
    ("p=2&q1=A", "Only the next part of the lesson takes answers"),
    ("p=1&q1=C", "Question 2 of part 1 has no answer"),
    ("p=1&q1=CD&q2=F", "Question 1 takes one letter"),
    ("p=1&q1=Z&q2=F", "Question 1 takes one letter"),
])
def test_bad_answers_are_one_sentence_and_400(client, query, sentence):
    r = client.get(f"/lessons/grace-hopper/lock/?{query}")
    assert r.status_code == 400 and sentence in r.data.decode()


def test_lesson_pages_are_private_and_never_stored(client):
    for url in ("/lessons/", "/lessons/grace-hopper/", "/lessons/verify/"):
        assert client.get(url).headers["Cache-Control"] == "private, no-store"


def test_verify_refuses_a_changed_code_in_a_sentence(client):
    good = tokens.result_code(tokens.Progress("fail-early", 2, "tpnbigw8r", ("B.E", "B.D", "A.A", "E.C")),
                              "a-class-secret")
    bad = good.replace("B.E", "A.E")
    html = client.get("/lessons/verify/", query_string={"codes": f"{good}\n{bad}\nnonsense"}).data.decode()
    assert html.count('data-testid="valid"') == 1 and html.count('data-testid="invalid"') == 2
    assert "was not issued by this server, or was changed since" in html and "4 / 4 parts" in html
    assert 'data-testid="default-secret"' not in html


def test_the_default_secret_is_said_on_the_verify_page():
    html = create_app({"TESTING": True}).test_client().get("/lessons/verify/").data.decode()
    assert 'data-testid="default-secret"' in html and "S2VIZ_SECRET" in html


def test_old_letter_progress_addresses_start_the_lesson():
    r = create_app({"TESTING": True}).test_client().get("/lessons/grace-hopper/?a=AC&p=2")
    assert r.status_code == 302 and r.headers["Location"] == "/lessons/grace-hopper/?p=2"


def test_a_teacher_pastes_a_whole_class_of_codes(client):
    """Longer than an address may be: the form posts them; every one is graded."""
    codes = [tokens.result_code(tokens.Progress("fail-early", 2, f"tpnbi{i:03d}x", ("B.E", "B.D", "A.A", "E.C")),
                                "a-class-secret") for i in range(90)]
    assert len("\n".join(codes)) > 4096
    html = client.post("/lessons/verify/", data={"codes": "\n".join(codes)}).data.decode()
    assert html.count('data-testid="valid"') == 90 and html.count("4 / 4 parts") == 90
