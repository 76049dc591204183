"""Documents as evidence: verified like photos, and nothing is stored when one is refused."""

from __future__ import annotations

import hashlib
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import DocumentClaim, DocumentObject
from media.documents import document_key
from tests.backend.records.support import example, make_place
from tests.conftest import AppFactory
from tests.factories import auth_headers, make_unit, make_user


def pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (64, 32), 200).save(out, "PNG")
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(client: FlaskClient, headers: dict[str, str], data: bytes, content_type: str) -> object:
    return client.put(
        f"/api/v1/documents/{sha(data)}",
        data=data,
        headers={**headers, "Content-Type": content_type},
    )


def nothing_stored(app: Flask, session: Session) -> bool:
    store = app.extensions["anjian"].store
    return (
        list(store.iter_keys("documents/")) == []
        and session.scalar(select(func.count()).select_from(DocumentObject)) == 0
        and session.scalar(select(func.count()).select_from(DocumentClaim)) == 0
    )


def test_a_pdf_is_stored_under_its_hash_and_serves_the_record_that_cites_it(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    headers = place.headers()
    data = pdf(pages=2)
    reply = put(client, headers, data, "application/pdf")
    assert reply.status_code == 200, reply.json
    assert reply.json == {
        "sha256": sha(data),
        "size": len(data),
        "content_type": "application/pdf",
        "pages": 2,
        "created": True,
    }
    assert app.extensions["anjian"].store.get(document_key(sha(data))) == data

    values = example("interview_notice", place.enterprise, place.town)
    values["documents"] = [{"sha256": sha(data), "role": "minutes"}]
    record = client.post("/api/v1/activities", headers=headers, json=values).json
    assert record["awaiting_media"] == []
    download = client.get(f"/api/v1/documents/{sha(data)}", headers=headers)
    assert (download.status_code, download.data) == (200, data)
    assert download.mimetype == "application/pdf"
    download.close()
    again = put(client, headers, data, "application/pdf")
    assert again.json["created"] is False


def test_a_record_shows_the_documents_it_still_waits_for(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    values = example("interview_notice", place.enterprise, place.town)
    record = client.post("/api/v1/activities", headers=place.headers(), json=values).json
    assert record["awaiting_media"] == [values["documents"][0]["sha256"]]


def test_a_scan_is_accepted_as_a_png(client: FlaskClient, session: Session) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = put(client, headers, png(), "image/png")
    assert (reply.status_code, reply.json["content_type"]) == (200, "image/png")


def test_a_pdf_that_does_not_parse_is_refused_and_nothing_is_stored(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    broken = pdf()[:-200]
    reply = put(client, headers, broken, "application/pdf")
    assert (reply.status_code, reply.json["code"]) == (422, "document.invalid_pdf")
    assert "cannot be read" in reply.json["message"]
    assert nothing_stored(app, session)


@pytest.mark.parametrize(
    "data",
    [b"\xe4\xbc\x9a\xe8\xae\xae\xe7\xba\xaa\xe8\xa6\x81 plain text", b"PK\x03\x04" + b"\0" * 64],
    ids=["text", "zip"],
)
def test_a_file_of_the_wrong_type_is_refused_and_nothing_is_stored(
    app: Flask, client: FlaskClient, session: Session, data: bytes
) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = put(client, headers, data, "application/pdf")
    assert (reply.status_code, reply.json["code"]) == (415, "document.unsupported_type")
    assert nothing_stored(app, session)


def test_a_file_that_is_not_what_it_claims_is_refused(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = put(client, headers, png(), "application/pdf")
    assert (reply.status_code, reply.json["code"]) == (415, "document.type_mismatch")
    assert nothing_stored(app, session)


def test_an_oversized_document_is_refused_and_nothing_is_stored(
    make_app: AppFactory, session: Session
) -> None:
    app = make_app(ANJIAN_DOCUMENT_MAX_BYTES="2000")
    client = app.test_client()
    headers = auth_headers(client, make_user(session, make_unit(session)))
    big = pdf(pages=40)
    assert len(big) > 2000
    reply = put(client, headers, big, "application/pdf")
    assert (reply.status_code, reply.json["code"]) == (413, "media.too_large")
    assert nothing_stored(app, session)


def test_bytes_that_do_not_match_the_hash_are_refused(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    headers = auth_headers(client, make_user(session, make_unit(session)))
    reply = client.put(
        f"/api/v1/documents/{sha(b'other')}",
        data=pdf(),
        headers={**headers, "Content-Type": "application/pdf"},
    )
    assert (reply.status_code, reply.json["code"]) == (422, "media.hash_mismatch")
    assert nothing_stored(app, session)


def test_another_units_user_cannot_download_a_document(
    client: FlaskClient, session: Session
) -> None:
    place = make_place(client, session)
    data = pdf()
    put(client, place.headers(), data, "application/pdf")
    values = example("interview_notice", place.enterprise, place.town)
    values["documents"] = [{"sha256": sha(data), "role": "minutes"}]
    client.post("/api/v1/activities", headers=place.headers(), json=values)
    stranger = auth_headers(client, make_user(session, make_unit(session)))
    reply = client.get(f"/api/v1/documents/{sha(data)}", headers=stranger)
    assert (reply.status_code, reply.json["code"]) == (404, "media.not_found")


def test_documents_are_exempt_from_the_json_body_limit(
    make_app: AppFactory, session: Session
) -> None:
    app = make_app(ANJIAN_MAX_BODY_BYTES="1024")
    client = app.test_client()
    headers = auth_headers(client, make_user(session, make_unit(session)))
    data = pdf(pages=10)
    assert len(data) > 1024
    reply = put(client, headers, data, "application/pdf")
    assert reply.status_code == 200, reply.json
