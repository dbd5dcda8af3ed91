"""Step source links: the label, the link and its tooltip name the same lines."""
from app.present.presenters import source_href, source_title
from tests.conftest import MODEL_IDS, run

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev&host=fwb&f=40000000r"


def _steps(model):
    return [s for _, s in run(model, NVG).all_steps() if s.lines[0]]


def test_a_patch_step_outside_its_hunks_links_the_lines_it_shows():
    for s in _steps("patch-v3"):
        href = source_href("patch-v3", s)
        if "lore.kernel.org" in href:
            assert "inside the patch" in source_title("patch-v3", s)
            continue
        assert href.endswith(f"#L{s.lines[0]}-L{s.lines[1]}"), (s.id, href)
        assert "/linux/v6.14/" in href and "v6.14's lines" in source_title("patch-v3", s)


def test_patch_steps_inside_a_hunk_link_the_patch():
    s = next(s for s in _steps("patch-v3") if s.id == "uma.classify")
    assert source_href("patch-v3", s).startswith("https://lore.kernel.org/")


def test_no_tooltip_names_a_tag_that_does_not_exist():
    for m in MODEL_IDS:
        for s in _steps(m):
            title = source_title(m, s)
            assert "patch-v3's tag" not in title and title, (m, s.id)


def test_every_other_model_links_its_own_tag_at_the_lines_shown():
    from app.sim.sources import tag
    for m in MODEL_IDS:
        if m == "patch-v3":
            continue
        for s in _steps(m):
            assert source_href(m, s) == (f"https://elixir.bootlin.com/linux/{tag(m)}/source/{s.file}"
                                         f"#L{s.lines[0]}-L{s.lines[1]}")
