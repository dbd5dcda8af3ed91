"""The views, one blueprint per module: the page, the JSON API, explain (text, compare, every
model, maps, embed, presenter mode, exports), teaching (lessons, exercises, glossary), errors."""
