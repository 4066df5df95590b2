"""``json_safe``'s byte-level test (issue 16: a bundle of 100k events spent a tenth of its
time decoding itself to find nothing to escape) answers exactly as the text regex does,
and the escaped document is the one the text path makes."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.sanitize import _JSON_UNSAFE, has_json_unsafe, json_safe

NEAR = st.one_of(
    st.characters(min_codepoint=0x70, max_codepoint=0xC0),
    st.characters(min_codepoint=0x600, max_codepoint=0x620),
    st.characters(min_codepoint=0x2000, max_codepoint=0x2070),
    st.sampled_from(["µ", "é", "…", "€", "😀", "a", "\n", "\x1b", "\u202e", "\x9b"]),
)


@settings(max_examples=600, deadline=None)
@given(text=st.text(NEAR, max_size=12) | st.text(max_size=12))
def test_the_byte_test_equals_the_text_regex(text: str) -> None:
    document = orjson.dumps({"t": text})
    assert has_json_unsafe(document) == (_JSON_UNSAFE.search(text) is not None)
    by_text = _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}",
                               document.decode()).encode()
    assert json_safe(document) == by_text
    assert orjson.loads(json_safe(document)) == {"t": text}


def test_every_unsafe_character_is_found() -> None:
    for code in [*range(0x7F, 0xA0), 0x61C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                 *range(0x2066, 0x206A), 0x2028, 0x2029]:
        assert has_json_unsafe(orjson.dumps(f"ok {chr(code)} ok")), hex(code)
    assert not has_json_unsafe(orjson.dumps("µs … é \u2030 \u2065 \u206a \u200d"))
