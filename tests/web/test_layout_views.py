"""A whole VM on every surface: the page draws the guest's address space with a row per region and
what each memslot's accesses got, /all/ has a memslots x models table, the mail text and the JSON
speak per slot, the form's presets build the VMs, and the behaviour map lists their memslots."""
import json
import re

import pytest

from app import create_app
from app.permalink import canonical_query
from app.sim.presets import VM_PRESETS
from app.sim.scenario import Scenario

GRACE = canonical_query(VM_PRESETS["grace-vm"].apply(Scenario()))
SPLIT = canonical_query(VM_PRESETS["split-slot"].apply(Scenario()))


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def test_the_page_draws_the_address_space_region_by_region(client):
    html = client.get(f"/v6.14/?{GRACE}").data.decode()
    table = html[html.index('data-testid="space-table"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr class=") == 10                      # 5 memslots and 5 holes, from 0 to 2^40
    assert "GPU usemem (BAR4)" in table and "4: registered" in table
    assert "BAR4 beyond the GPU memory" in table and "none: MMIO for the VMM" in table
    assert "Stale data" in table and "fault 4: Mapped Device-nGnRE" in table


def test_the_address_space_shows_only_what_the_trace_has_reached(client):
    html = client.get(f"/v6.17/?{SPLIT}&step=3").data.decode()
    table = html[html.index('data-testid="space-table"'):html.index("</table>", html.index("space-table"))]
    assert "refused" not in table and "registered" not in table        # registration not finished yet
    html = client.get(f"/v6.17/?{SPLIT}").data.decode()
    table = html[html.index('data-testid="space-table"'):html.index("</table>", html.index("space-table"))]
    assert "2: refused: -EINVAL" in table and "1: registered" in table


def test_every_model_has_a_memslots_table(client):
    html = client.get(f"/all/?{SPLIT}").data.decode()
    assert 'data-testid="slots-matrix"' in html
    assert html.count("refused -EINVAL at registration") == 3          # v6.17, v7.1, v7.3
    assert "Foreign host memory" in html                              # v6.14 and the v3 patch


def test_the_mail_text_and_the_json_speak_per_slot(client):
    text = client.get(f"/text/v6.17/?{SPLIT}").data.decode()
    assert "memslot 2 (IPA 0x80000000 +4M, 3 VMAs): KVM_SET_USER_MEMORY_REGION ->\n  -EINVAL" in text
    words = " ".join(text.split())
    assert "VMA 2 of 3" in words and "the VM never started (memslot 2 was refused)" in words
    assert all(len(line) <= 72 for line in text.splitlines()[:-1])
    j = json.loads(client.get(f"/api/v1/v6.14/?{GRACE}").data)
    assert [m["result"] for m in j["memslots"]] == ["ok"] * 5
    assert [f["slot"] for f in j["faults"]] == [1, 2, 3, 4, 5, None, None]
    assert [c["call"] for c in j["vmm"]].count("KVM_RUN") == 7
    assert sum(c["call"].startswith("KVM_SET_USER_MEMORY_REGION (memslot") for c in j["vmm"]) == 5


def test_a_vm_preset_fills_the_form_and_answers_with_its_permalink(client):
    r = client.get("/v6.17/?preset=grace-vm")
    assert r.status_code in (301, 302)
    assert "s4=8000000000:17c0000000" in r.headers["Location"]
    html = client.get(f"/v6.17/?{GRACE}").data.decode()
    assert 'name="s4" value="8000000000:17c0000000"' in html and 'name="s6" value=""' in html
    assert re.search(r'<option value="grace-vm"', html)


def test_the_behaviour_map_lists_every_vm_presets_memslots(client):
    html = client.get("/map/v6.17/").data.decode()
    assert html.count('scope="row">memslot') == sum(len(p.names) for p in VM_PRESETS.values())
    diff = client.get("/map/v6.14..v6.17/").data.decode()
    assert 'class="changed bad"' in diff


def test_the_strip_of_regions_marks_the_one_the_current_access_is_in(client):
    """The strip that stands for the drawing on phones and in presenter mode: one item per region, the
    current fault's region marked with its IPA, and no region marked while memslots are registered."""
    html = client.get(f"/v6.17/?{GRACE}&step=60").data.decode()
    strip = html[html.index('class="space-strip"'):]
    strip = strip[:strip.index("</ol>")]
    assert strip.count("<li") == 10
    here = re.findall(r'<li class="[^"]*here">(.*?)</li>', strip)
    assert len(here) == 1 and "flash0 (firmware)" in here[0] and "← 0x0" in here[0]
    html = client.get(f"/v6.17/?{GRACE}&step=3").data.decode()
    strip = html[html.index('class="space-strip"'):]
    assert " here" not in strip[:strip.index("</ol>")]
