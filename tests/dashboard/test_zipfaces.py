"""Uploaded zips of labelled faces: opened in memory, every unsafe archive refused."""

from __future__ import annotations

import io
import stat
import zipfile

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
