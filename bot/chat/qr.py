"""Login QR codes drawn in the operator's terminal, so a phone can scan them off the screen."""

from __future__ import annotations

import io
import sys
from typing import TextIO

import qrcode


def render_qr(data: str) -> str:
    """`data` as a QR code in text: two modules per character cell (half blocks), quiet zone included.

    Dark modules are drawn as spaces on a light background (inverted), which is what phone cameras read
    best on the usual dark terminal."""
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(data)
    code.make(fit=True)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue()


def show_login_qr(data: str, title: str, out: TextIO | None = None) -> None:
    """Print `title`, the QR code and the raw content (for a terminal that cannot draw it)."""
    stream = out or sys.stdout
    stream.write(f"\n{title}\n{render_qr(data)}(二维码内容 / QR content: {data})\n\n")
    stream.flush()
