"""Values as a client may send them: text that is printable, stripped and bounded; web links.

Each is an `Annotated` str type for the API's request models, so a value that
breaks a rule is a 422 naming its field. Events and commands keep their own,
looser shapes: what old code wrote must stay readable.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, StringConstraints

# Unicode categories no text of ours holds: control, format (bidirectional overrides
# make a name read otherwise than it is), surrogate, private use and unassigned
# characters, and the line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# The format characters that scripts and emoji need: zero-width non-joiner and joiner.
_JOINERS = frozenset("\u200c\u200d")


def unprintable(text: str, allowed: str = "") -> tuple[int, str] | None:
    """The position and the first character of `text` that is not printable, or None."""
    for position, char in enumerate(text):
        if (unicodedata.category(char) in _REFUSED_CATEGORIES and char not in _JOINERS
                and char not in allowed):
            return position, char
    return None


def one_line(text: str) -> str:
    """`text` if every character of it is printable; a line break is not."""
    return _printable(text, allowed="")


def lines(text: str) -> str:
    """`text` with its line breaks as LF, if every other character is printable."""
    return _printable(text.replace("\r\n", "\n").replace("\r", "\n"), allowed="\n")


def _printable(text: str, allowed: str) -> str:
    found = unprintable(text, allowed)
    if found is not None:
        position, char = found
        raise ValueError(f"must be printable text: the character U+{ord(char):04X} at "
                         f"position {position} is not")
    return text


def web_link(text: str) -> str:
    """`text` if it is an absolute http or https URL with a host and no blank or control."""
    if not text.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    if any(char.isspace() for char in text) or unprintable(text):
        raise ValueError("must be a URL without spaces or control characters")
    if not urlsplit(text).hostname:
        raise ValueError("must name a host")
    return text


def _chars(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length,
                             max_length=max_length)


ONE_LINE = AfterValidator(one_line)
LINES = AfterValidator(lines)

# What a product, a category or a person is called.
Name = Annotated[str, _chars(1, 200), ONE_LINE]
# A short term: a specification's name, a carrier, a tracking number.
Label = Annotated[str, _chars(1, 100), ONE_LINE]
# A line of an address; a payment network's token.
Line = Annotated[str, _chars(1, 200), ONE_LINE]
# A line that may be empty: an address's second line.
OptionalLine = Annotated[str, _chars(0, 200), ONE_LINE]
# A specification's value.
Value = Annotated[str, _chars(0, 500), ONE_LINE]
# An image's alternative text.
Caption = Annotated[str, _chars(0, 300), ONE_LINE]
# Why, in a person's words: a return's reason, a rejection's.
Reason = Annotated[str, _chars(1, 500), ONE_LINE]
# Free text in paragraphs: a product's description.
Text = Annotated[str, _chars(0, 20_000), LINES]
# A link to a page or an image on the web.
Url = Annotated[str, _chars(1, 2000), AfterValidator(web_link)]
# A stock-keeping unit.
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                       pattern=r"^[A-Za-z0-9._-]+$")]
PostalCode = Annotated[str, _chars(1, 20), ONE_LINE]
# ISO 3166-1 alpha-2.
Country = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z]{2}$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{5,20}$")]
# An opaque token we issued (a refresh or an emailed link's token): visible ASCII only.
Token = Annotated[str, StringConstraints(min_length=1, max_length=200,
                                         pattern=r"^[\x21-\x7e]+$")]
