"""An independent check of S3 SigV4 query-string signatures (moto accepts any signature,
so the tests recompute it to prove which headers the URL really signs)."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, quote, urlsplit


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def expected_signature(method: str, url: str, headers: dict[str, str], secret_key: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signed_names = query["X-Amz-SignedHeaders"].split(";")
    all_headers = {name.lower(): value.strip() for name, value in headers.items()}
    all_headers["host"] = parts.netloc
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(query.items())
        if k != "X-Amz-Signature"
    )
    canonical_headers = "".join(f"{name}:{all_headers[name]}\n" for name in signed_names)
    canonical_request = "\n".join([
        method, parts.path, canonical_query, canonical_headers, ";".join(signed_names), "UNSIGNED-PAYLOAD",
    ])
    _, date, region, service, terminator = query["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/{terminator}"
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256", query["X-Amz-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest(),
    ])
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, terminator):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def signature_matches(method: str, url: str, headers: dict[str, str], secret_key: str) -> bool:
    query = dict(parse_qsl(urlsplit(url).query))
    return hmac.compare_digest(query["X-Amz-Signature"], expected_signature(method, url, headers, secret_key))
