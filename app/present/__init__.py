"""Presentation: a trace in, what to show out (the stage at a step, its diagrams, verdicts in words,
comparisons, figures, link previews, slide exports, behaviour maps). Reads app.sim and the
permalink grammar; knows nothing of teaching or of the web."""
