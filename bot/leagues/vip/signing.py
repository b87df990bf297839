"""vop request signing: `UPPER(HEX(HMAC-MD5(app secret, k1v1k2v2… + body)))`.

The system parameters (`service`, `method`, `version`, `timestamp`, `format`, `appKey`, `accessToken`
when sent, `language` when sent) go in the query string; `sign` covers each of them sorted by name as
name + value with no separators, followed by the exact JSON body that is POSTed. The body is serialised
once (`body_json`) and those same bytes are both signed and sent. Empty parameters are not sent, so
they are not signed either. The real gateway and the sandbox (`tuike_sandbox.vip_face`) both use `sign`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


def body_json(business: Mapping[str, Any]) -> str:
    """The business parameters as the compact JSON string that is signed and sent."""
    return json.dumps(business, ensure_ascii=False, separators=(",", ":"))


def sign_base(system: Mapping[str, str], body: str) -> str:
    """What is signed: the non-empty system parameters but `sign`, sorted, as name+value, then the body."""
    return "".join(f"{k}{v}" for k, v in sorted(system.items()) if k != "sign" and v != "") + body


def sign(system: Mapping[str, str], body: str, secret: str) -> str:
    """The `sign` of a request with these system parameters and this body."""
    digest = hmac.new(secret.encode(), sign_base(system, body).encode(), hashlib.md5)
    return digest.hexdigest().upper()
