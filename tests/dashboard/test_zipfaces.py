"""Uploaded zips of labelled faces: opened in memory, every unsafe archive refused."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib

import numpy as np
import pytest

from dashboard.zipfaces import ZipLimits, ZipRefused, open_zip
from deep_emotion.data.userdata import load_members
from tests.data.userfaces import crop


def png(seed: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(crop(seed)).save(buf, format="PNG")
    return buf.getvalue()


def make_zip(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def test_a_labelled_zip_opens_in_memory_as_a_dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = make_zip({"faces/Happy/1.png": png(1), "faces/Happy/2.png": png(2),
                     "faces/sad/3.png": png(3), "faces/sad/notes.txt": b"hello",
                     "__MACOSX/faces/._1.png": b"junk"})
    members = open_zip(data)
    dataset = load_members("upload:faces.zip", members, aligned=True)
    assert dataset.class_counts() == {"happiness": 2, "sadness": 1}
    assert dataset.meta["manifest"]["skipped"] == 2
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize("name, message", [
    ("../evil/happy/1.png", "outside the archive"),
    ("happy/../../1.png", "outside the archive"),
    ("/etc/happy/1.png", "absolute path"),
    ("C:/faces/happy/1.png", "absolute path"),
    ("happy/inner.zip", "archive inside the archive"),
    ("a/b/c/d/e/f/g/h/happy/1.png", "folders deep"),
    # the same names as a Windows zip tool writes them
    ("..\\evil\\x.png", "outside the archive"),
    ("happy\\..\\..\\1.png", "outside the archive"),
    ("\\evil\\happy\\1.png", "absolute path"),
    ("C:\\faces\\happy\\1.png", "absolute path"),
    ("a\\b\\c\\d\\e\\f\\happy\\1.png", "7 folders deep"),
])
def test_unsafe_member_names_refuse_the_whole_upload(name, message):
    data = make_zip({"happy/ok.png": png(0), name: png(1)})
    with pytest.raises(ZipRefused, match=message):
        open_zip(data)


def test_symlinks_are_refused():
    with pytest.raises(ZipRefused, match="symbolic link"):
        open_zip(make_zip({"happy/ok.png": png(0)}, links=("happy/link.png",)))


def test_an_archive_disguised_as_an_image_is_refused():
    inner = make_zip({"happy/1.png": png(1)})
    with pytest.raises(ZipRefused, match="archive inside the archive"):
        open_zip(make_zip({"happy/1.png": inner}))


def test_a_zip_bomb_is_refused_before_it_is_expanded():
    bomb = make_zip({"happy/1.png": b"\0" * (64 * 2**20)})  # 64 MiB of zeros, ~64 KB packed
    assert len(bomb) < 200_000
    with pytest.raises(ZipRefused, match="zip bomb"):
        open_zip(bomb)


def test_size_and_count_limits():
    data = make_zip({f"happy/{i}.png": png(i) for i in range(5)})
    with pytest.raises(ZipRefused, match="5 files; the limit is 4"):
        open_zip(data, ZipLimits(max_files=4))
    with pytest.raises(ZipRefused, match="uncompressed"):
        open_zip(data, ZipLimits(max_total=100))
    with pytest.raises(ZipRefused, match="not a zip"):
        open_zip(b"PK but not really")


def random_bytes(n: int, seed: int) -> bytes:
    """Bytes that do not compress (a photo's, as far as deflate is concerned)."""
    return np.random.default_rng(seed).bytes(n)


@pytest.mark.parametrize("depth, refused", [(6, False), (7, True)])
def test_members_may_sit_six_folders_deep_and_no_deeper(depth, refused):
    name = "/".join(f"d{i}" for i in range(depth - 1)) + "/happy/1.png"  # ``depth`` folders
    data = make_zip({"happy/ok.png": png(0), name: png(1)})
    if refused:
        with pytest.raises(ZipRefused, match=f"nested {depth} folders deep; the limit is 6"):
            open_zip(data)
    else:
        assert set(open_zip(data)) == {"happy/ok.png", name}


def test_backslash_separated_names_are_read_as_folders():
    members = open_zip(make_zip({"faces\\happy\\1.png": png(1), "faces/sad/2.png": png(2)}))
    assert sorted(members) == ["faces/happy/1.png", "faces/sad/2.png"]


def test_a_bomb_member_hidden_among_incompressible_ones_is_refused_by_its_own_ratio():
    """The archive as a whole expands about 11-fold (under the limit), one member 1000-fold."""
    members = {f"happy/{i}.png": random_bytes(40_000, i) for i in range(5)}
    members["sad/bomb.png"] = b"\0" * 2**21
    data = make_zip(members)
    assert sum(map(len, members.values())) < 100 * len(data)  # the archive passes as a whole
    with pytest.raises(ZipRefused, match=r"'sad/bomb.png' expands \d+-fold; more than 100-fold"):
        open_zip(data)
    assert len(open_zip(data, ZipLimits(max_ratio=5000))) == 6  # the limit is what refuses it


@pytest.mark.parametrize("zeros, refused", [(2**16, False), (2**16 + 1, True)])
def test_only_members_over_64_kib_are_judged_by_their_ratio(zeros, refused):
    members = {f"happy/{i}.png": random_bytes(100_000, i) for i in range(2)}
    members["sad/flat.png"] = b"\0" * zeros  # ~1000-fold, but small below 64 KiB
    data = make_zip(members)
    if refused:
        with pytest.raises(ZipRefused, match="'sad/flat.png' expands"):
            open_zip(data)
    else:
        assert len(open_zip(data)["sad/flat.png"]) == zeros


def test_the_upload_size_cap_holds_on_both_sides_of_its_boundary():
    data = make_zip({"happy/1.png": random_bytes(3 * 2**20, 0)})  # 3 MiB, stored as is
    assert len(open_zip(data, ZipLimits(max_upload=len(data)))) == 1
    with pytest.raises(ZipRefused, match="the upload is 3 MiB; the limit is 2 MiB"):
        open_zip(data, ZipLimits(max_upload=2 * 2**20))
    with pytest.raises(ZipRefused, match="the upload is"):
        open_zip(data, ZipLimits(max_upload=len(data) - 1))
    assert ZipLimits().max_upload == 200 * 2**20


def declare_fewer_bytes(data: bytes, declared: int, payload: bytes) -> bytes:
    """The one-member zip ``data`` with its uncompressed size set to ``declared`` in both
    headers, and the CRC made that of the first ``declared`` bytes (so the lie is consistent)."""
    z = bytearray(data)
    local = 0
    central = z.rfind(b"PK\x01\x02")
    crc = zlib.crc32(payload[:declared])
    struct.pack_into("<I", z, local + 14, crc)        # local header: CRC-32
    struct.pack_into("<I", z, local + 22, declared)   # ... uncompressed size
    struct.pack_into("<I", z, central + 16, crc)      # central directory: CRC-32
    struct.pack_into("<I", z, central + 24, declared)  # ... uncompressed size
    return bytes(z)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_member_holding_more_bytes_than_its_header_declares_is_refused(method):
    payload = random_bytes(50_000, 0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        zf.writestr("happy/1.png", payload)
    lying = declare_fewer_bytes(buf.getvalue(), 1000, payload)
    assert zipfile.ZipFile(io.BytesIO(lying)).infolist()[0].file_size == 1000
    with pytest.raises(ZipRefused, match="'happy/1.png' holds more bytes than its header declares"):
        open_zip(lying)
    assert open_zip(buf.getvalue())["happy/1.png"] == payload  # the honest zip opens whole
