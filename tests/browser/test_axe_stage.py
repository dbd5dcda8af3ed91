"""axe-core on the page, presenter mode and the embed, at a middle step and at the last, on a
laptop and a phone: no violation."""
import pytest

from tests.browser import axe

NVG = "vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w,40002000x"
PAGES = [f"/v6.14/?{NVG}&step=20", f"/v6.17/?{NVG}", f"/present/v6.17/?{NVG}", f"/present/v6.17/?{NVG}&step=30",
         f"/embed/v6.17/?{NVG}&step=12", "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&host=dic&f=40000000r",
         "/v6.17/?slot=log&f=40000000r,40000000w"]


@pytest.mark.parametrize("width,height", [(1400, 1000), (390, 844)])
@pytest.mark.parametrize("path", PAGES)
def test_no_axe_violation(browser, live_server, path, width, height):
    axe.check_page(browser, live_server, path, width, height, open_details=True)
