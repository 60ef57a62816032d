"""Reading a pool upload: text lines or JSON into keys with their line numbers, or a refusal."""

from __future__ import annotations

import pytest
from gateway.domain.key_upload import MAX_KEYS, UploadRefused, read_upload


class TestText:
    def test_one_key_a_line_blank_lines_skipped_lines_kept(self) -> None:
        upload = read_upload(b"\xef\xbb\xbfK1\r\n\n  K2  \nK1\n", "text/plain; charset=utf-8")
        assert upload.keys == ("K1", "K2", "K1")
        assert upload.lines == (1, 3, 4)
        assert upload.low_threshold is None

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            (b"", 422),
            (b" \n\t\n", 422),
            (b"\xff\xfe", 422),
            (b"K1\x00", 422),
            (b"K" * 201, 422),
            (b"K\n" * (MAX_KEYS + 1), 413),
        ],
    )
    def test_refuses_what_is_not_a_key_list(self, body: bytes, status: int) -> None:
        with pytest.raises(UploadRefused) as refused:
            read_upload(body, "text/plain")
        assert (refused.value.status, refused.value.code) == (status, "validation_error")


class TestJson:
    def test_a_list_keeps_every_position(self) -> None:
        upload = read_upload(b'["K1", " ", "K2"]', "application/json")
        assert upload.keys == ("K1", "", "K2")
        assert upload.lines == (1, 2, 3)

    def test_an_object_may_set_the_threshold(self) -> None:
        upload = read_upload(b'{"keys": ["K1"], "low_threshold": 0}', "application/json")
        assert (upload.keys, upload.low_threshold) == (("K1",), 0)

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            (b"{", 400),
            (b'"K1"', 422),
            (b"[1]", 422),
            (b'{"keys": ["K1"], "low_threshold": true}', 422),
            (b'{"keys": ["K1"], "low_threshold": -1}', 422),
            (b'{"keys": ["K1"], "other": 1}', 422),
            (b"[]", 422),
        ],
    )
    def test_refuses_what_is_not_a_key_list(self, body: bytes, status: int) -> None:
        with pytest.raises(UploadRefused) as refused:
            read_upload(body, "application/json")
        assert refused.value.status == status


def test_an_unknown_content_type_is_415() -> None:
    with pytest.raises(UploadRefused) as refused:
        read_upload(b"<keys/>", "application/xml")
    assert refused.value.status == 415
