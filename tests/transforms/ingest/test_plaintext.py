"""Text clean-up (``transforms.ingest.plaintext``): markup to text, tidy, clean, first sentences."""

from __future__ import annotations

import time

import pytest

from transforms.ingest.plaintext import clean, first_sentence, html_to_text, tidy


@pytest.mark.parametrize("markup", ["<script>", "<!--", "<p ", "<style><template>", "<script <!--"])
def test_markup_stripping_is_linear_on_unclosed_elements(markup) -> None:
    text = markup * 100_000 + " tariffs"
    started = time.monotonic()
    out = clean(text, markup=True)
    # the lazy regexes this replaced took ~22 s for 20,000 unclosed <script> (quadratic); this is ~0.3 s for 100,000
    assert time.monotonic() - started < 5
    assert out.endswith("tariffs")
    assert clean("a<!-- c -->b<script>x</script>c<SCRIPT>open", markup=True) == "a b copen"


def test_markup_becomes_text_with_line_breaks_at_blocks():
    assert html_to_text("<p>One &amp; two</p><script>x()</script><div>three</div>") == "\nOne & two\n \nthree\n"
    assert clean("<p>One &amp; two</p>\n\n\n<p>three</p>") == "One & two\n\nthree"
    assert clean("plain  text\u00a0here") == "plain text here"        # no markup: only tidied
    assert clean(None) == "" and clean("") == ""


def test_tidy():
    assert tidy("a\r\nb\t\tc\x00\n\n\n\nd") == "a\nb c\n\nd"
    assert tidy("  ﬁne\n  line  ", single_line=True) == "fine line"     # NFKC, one line


def test_first_sentence_is_cut_at_a_word_boundary():
    assert first_sentence("Tariffs rose. Then more.") == "Tariffs rose."
    long = "word " * 40
    out = first_sentence(long, limit=20)
    assert out.endswith("…") and len(out) <= 21 and " wor…" not in out
