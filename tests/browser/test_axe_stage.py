"""axe-core on the page, presenter mode and the embed, at a middle step and at the last, on a
laptop and a phone: no violation."""
import pytest

from app.permalink import canonical_query
from app.sim.presets import VM_PRESETS
from app.sim.scenario import Scenario
from tests.browser import axe

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w,40002000x"
SPLIT = canonical_query(VM_PRESETS["split-slot"].apply(Scenario()))
PAGES = [f"/v6.14/?{NVG}&step=20", f"/v6.17/?{NVG}", f"/present/v6.17/?{NVG}", f"/present/v6.17/?{NVG}&step=30",
         f"/embed/v6.17/?{NVG}&step=12", "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&host=dic&f=40000000r",
         "/v6.17/?slot=log&f=40000000r,40000000w",
         # a whole VM: the split slot on a host without DIC (v6.17 refuses it at its second VMA), and on v6.14
         f"/v6.17/?{SPLIT}", f"/v6.14/?{SPLIT}&step=60", f"/present/v6.17/?{SPLIT}&step=60"]


@pytest.mark.parametrize("width,height", [(1400, 1000), (390, 844)])
@pytest.mark.parametrize("path", PAGES)
def test_no_axe_violation(browser, live_server, path, width, height):
    axe.check_page(browser, live_server, path, width, height, open_details=True)
