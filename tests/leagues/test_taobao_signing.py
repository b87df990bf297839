"""TOP signing: the published md5 vector from the TOP docs, the reference's HMAC vectors, and ours."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.leagues.taobao.signing import sign, sign_base, verify

# open.taobao.com docId=101617 (reference §3.2)
PUBLISHED = {
    "app_key": "12345678",
    "fields": "num_iid,title,nick,price,num",
    "format": "json",
    "method": "taobao.item.seller.get",
    "num_iid": "11223344",
    "session": "test",
    "sign_method": "md5",
    "timestamp": "2016-01-01 12:00:00",
    "v": "2.0",
}


def test_the_published_md5_vector() -> None:
    assert sign(PUBLISHED, "helloworld", "md5") == "66987CB115214E59E6EC978214934FB8"


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("hmac", "D56D7858309C31B6251083A874D48273"),
        ("hmac-sha256", "04DB15AD0774D5CFCE2C837DE43E3FCEA9011ED74F3038FB6AB5F3C4CEA119E8"),
    ],
)
def test_the_reference_hmac_vectors(method: str, expected: str) -> None:
    params = {**PUBLISHED, "sign_method": method}
    assert sign(params, "helloworld", method) == expected  # type: ignore[arg-type]


def test_our_own_vector_with_chinese_empty_values_and_byte_order() -> None:
    params = {
        "method": "taobao.tbk.dg.material.optional.upgrade",
        "q": "蓝牙耳机",
        "Zeta": "upper case sorts before lower",
        "adzone_id": "110000000001",
        "text": "",  # empty: left out
        "sign": "whatever",  # never signed
    }
    base = sign_base(params)
    assert (
        base
        == "Zetaupper case sorts before loweradzone_id110000000001methodtaobao.tbk.dg.material.optional.upgradeq蓝牙耳机"
    )
    secret = "s3cr3t"
    assert sign(params, secret, "md5") == hashlib.md5((secret + base + secret).encode()).hexdigest().upper()
    assert sign(params, secret, "hmac-sha256") == (
        hmac.new(secret.encode(), base.encode(), hashlib.sha256).hexdigest().upper()
    )
    assert (
        sign(params, secret, "hmac")
        == hmac.new(secret.encode(), base.encode(), hashlib.md5).hexdigest().upper()
    )
    assert len(sign(params, secret, "hmac")) == 32 and len(sign(params, secret, "hmac-sha256")) == 64


def test_verify_reads_the_sign_method_from_the_request() -> None:
    signed = {**PUBLISHED, "sign": "66987cb115214e59e6ec978214934fb8"}
    assert verify(signed, "helloworld")
    assert not verify({**signed, "num_iid": "11223345"}, "helloworld")
    assert not verify({**signed, "sign_method": "sha1"}, "helloworld")
