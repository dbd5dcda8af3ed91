"""The simulator imports nothing from the web layer."""
import subprocess
import sys


def test_importing_the_simulator_loads_no_web_or_plotting_module():
    code = ("import sys, app.sim, app.present.report, app.present.text, app.present.timeline; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'plotly', 'jinja2', 'werkzeug')"
            " or m in ('app.api', 'app.views')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
