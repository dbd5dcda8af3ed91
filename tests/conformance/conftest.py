"""Say, at the end of every test run, what the models were checked against."""
from app import conformance


def pytest_terminal_summary(terminalreporter):
    rep = conformance.report()
    tr = terminalreporter
    tr.section("conformance with real kernels (app/data/conformance/)")
    for m in rep["models"]:
        if m["source_read_only"]:
            tr.write_line(f"{m['model']}: source-read only ({m['source_read_only']})")
        elif m["compared"]:
            tr.write_line(f"{m['model']}: Linux {', '.join(m['kernels'])}: {m['same']} of {m['compared']} cases "
                          f"the same ({m['hand']['with_events']} with host events), {m['known']} known differences, "
                          f"{m['differs']} different; random: {m['random']['same']} of {m['random']['compared']} the "
                          f"same ({m['random']['with_events']} with host events), {m['random']['known']} known, "
                          f"{m['random']['differs']} different")
    for k in rep["no_model_yet"]:
        why = NO_MODEL_YET.get(k["kernel"], "")
        tr.write_line(f"Linux {k['kernel']}: recorded, not compared: {why}")


from tests.conformance.test_conformance import NO_MODEL_YET  # noqa: E402
