"""Content files in an S3-compatible bucket (moto's S3 server over real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from django.test import Client
from django.urls import reverse

from tandem.cli.ports import free_port
from tandem.engagement.accounts.models import User
from tandem.engagement.content.models import ContentFile
from tandem.engagement.content.services import (
    content_file_delete,
    content_file_save,
    my_documents_get_or_create,
)

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "tandem-content"
KEYS = {"access_key": "test-key", "secret_key": "test-secret", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server speaking the S3 HTTP API."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, settings: object) -> object:
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
        region_name=KEYS["region_name"],
    )
    client.create_bucket(Bucket=BUCKET)
    settings.ENGAGEMENT_CONTENT_STORAGE = {  # type: ignore[attr-defined]
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": s3_endpoint,
            **KEYS,
            "addressing_style": "path",
            "file_overwrite": False,
        },
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client: object) -> list[str]:
    listing = client.list_objects_v2(Bucket=BUCKET)  # type: ignore[attr-defined]
    return [item["Key"] for item in listing.get("Contents", [])]


def test_a_saved_file_lands_in_the_bucket(bucket: object, admin: User) -> None:
    folder = my_documents_get_or_create(user=admin)

    saved = content_file_save(owner=admin, folder=folder, name="list.csv", data=b"a,b\r\n1,2\r\n")

    assert _keys(bucket) == [saved.blob.name]
    body = bucket.get_object(Bucket=BUCKET, Key=saved.blob.name)["Body"].read()  # type: ignore[attr-defined]
    assert body == b"a,b\r\n1,2\r\n"


def test_download_reads_the_file_back_from_the_bucket(
    bucket: object, admin: User, admin_client: Client
) -> None:
    folder = my_documents_get_or_create(user=admin)
    saved = content_file_save(owner=admin, folder=folder, name="notes.txt", data=b"hello s3")

    response = admin_client.get(reverse("engagement_content:download", args=[saved.id]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello s3"  # type: ignore[attr-defined]


def test_deleting_a_file_removes_it_from_the_bucket(bucket: object, admin: User) -> None:
    folder = my_documents_get_or_create(user=admin)
    saved = content_file_save(owner=admin, folder=folder, name="gone.txt", data=b"x")

    content_file_delete(actor=admin, content_file=saved)

    assert _keys(bucket) == []
    assert not ContentFile.objects.exists()
