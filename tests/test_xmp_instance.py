"""A restored photo is a new saved instance: its XMP gets a fresh ``xmpMM:InstanceID`` (the DocumentID stays)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from weatherclean.io.images import load_image, save_image

ATTRIBUTE = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"'
    b' xmpMM:DocumentID="xmp.did:1111" xmpMM:InstanceID="xmp.iid:2222"/></rdf:RDF></x:xmpmeta>'
)
ELEMENT = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">'
    b"<xmpMM:DocumentID>xmp.did:1111</xmpMM:DocumentID><xmpMM:InstanceID>xmp.iid:2222</xmpMM:InstanceID>"
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)
_ID = re.compile(rb"InstanceID(?:=\"|>)([^\"<]*)")


@pytest.mark.parametrize("xmp", [ATTRIBUTE, ELEMENT], ids=["attribute", "element"])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_the_output_gets_a_new_instance_id(tmp_path: Path, xmp: bytes, fmt: str) -> None:
    src = tmp_path / "in.jpg"
    Image.fromarray(np.full((16, 16, 3), 120, np.uint8)).save(src, xmp=xmp)
    loaded = load_image(src)
    outs = []
    for name in ("a", "b"):
        dest = tmp_path / f"{name}.{fmt.lower()}"
        save_image(dest, loaded.pixels, like=loaded, format=fmt)
        outs.append(load_image(dest).xmp or b"")
    ids = [_ID.search(out).group(1) for out in outs]
    assert all(i.startswith(b"xmp.iid:") and i != b"xmp.iid:2222" for i in ids), ids
    assert ids[0] == ids[1]  # the same output is the same instance: a rerun writes the same bytes
    assert all(b"xmp.did:1111" in out for out in outs)  # the same document


def test_xmp_without_an_instance_id_is_left_as_it_was(tmp_path: Path) -> None:
    xmp = ATTRIBUTE.replace(b' xmpMM:InstanceID="xmp.iid:2222"', b"")
    src = tmp_path / "in.jpg"
    Image.fromarray(np.full((16, 16, 3), 120, np.uint8)).save(src, xmp=xmp)
    loaded = load_image(src)
    save_image(tmp_path / "out.jpg", loaded.pixels, like=loaded)
    assert load_image(tmp_path / "out.jpg").xmp == xmp
