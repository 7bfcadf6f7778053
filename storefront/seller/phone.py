"""Indonesian WhatsApp numbers, as people write them: 0812-3456-789, +62 812 3456 789, 62812..."""

import re

_MOBILE = re.compile(r"^(?:\+?62|0)(8\d{7,11})$")


def normalise_whatsapp(text: str) -> str:
    """+62 form of a mobile number; ValueError when it is not one."""
    digits = re.sub(r"[\s\-().]", "", text or "")
    match = _MOBILE.match(digits)
    if not match:
        raise ValueError("not an Indonesian mobile number")
    return "+62" + match.group(1)
