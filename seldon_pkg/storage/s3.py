"""``s3://bucket/prefix`` with boto3 and the standard AWS environment.

Credentials, region and endpoint come from what boto3 reads itself (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_DEFAULT_REGION``, profiles) plus
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` for S3-compatible stores (MinIO, Ceph, GCS's
XML API). ``prefix`` names one object or a "folder" (every key under ``prefix/``). A
single-part object's ETag is its MD5: it is checked after the download.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from seldon_pkg.errors import SeldonPkgError
from seldon_pkg.storage.source import (
    CHUNK,
    AccessDenied,
    Corrupt,
    Missing,
    RemoteFile,
    Source,
    StorageError,
    Unreachable,
)
from seldon_pkg.storage.uri import StorageUri

SIMPLE_ETAG = re.compile(r"^[0-9a-f]{32}$")
DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403", "ExpiredToken"}
MISSING = {"NoSuchBucket", "NoSuchKey", "404"}


class S3Source(Source):
    def __init__(self, uri: StorageUri) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise StorageError("s3:// needs boto3: pip install 'seldon_pkg[storage]'") from None
        self.uri = uri
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 2}),
        )
        self.endpoint = endpoint or "AWS S3"

    def _error(self, error: Exception) -> SeldonPkgError:
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        if isinstance(error, EndpointConnectionError):
            return Unreachable(f"{self.uri.raw}: cannot reach {self.endpoint} ({error})")
        if isinstance(error, NoCredentialsError):
            return AccessDenied(f"{self.uri.raw}: no credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in DENIED:
                return AccessDenied(f"{self.uri.raw}: access denied by {self.endpoint} ({code})")
            if code in MISSING:
                return Missing(f"{self.uri.raw}: not found ({code})")
            return StorageError(f"{self.uri.raw}: {self.endpoint} answered {code}: {error}")
        return StorageError(f"{self.uri.raw}: {error}")

    def listing(self) -> list[RemoteFile]:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, prefix = self.uri.location, self.uri.path
        found: list[RemoteFile] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if key == prefix:  # the URI names one object
                        relative = key.rsplit("/", 1)[-1]
                    elif not prefix or key.startswith(prefix.rstrip("/") + "/"):
                        relative = key[len(prefix.rstrip("/")) + 1 :] if prefix else key
                    else:
                        continue  # prefix "a/b" must not pick up "a/bc"
                    if relative.endswith("/"):
                        continue  # a "folder" marker object
                    found.append(RemoteFile(relative, int(item["Size"]), item.get("ETag", "").strip('"'), key))
        except (ClientError, BotoCoreError) as error:
            raise self._error(error) from None
        return found

    def download(self, item: RemoteFile, target: Path, advance: Callable[[int], None]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        md5 = hashlib.md5(usedforsecurity=False)
        try:
            body = self.client.get_object(Bucket=self.uri.location, Key=item.source)["Body"]
            with open(target, "wb") as handle:
                for block in iter(lambda: body.read(CHUNK), b""):
                    handle.write(block)
                    md5.update(block)
                    advance(len(block))
        except (ClientError, BotoCoreError) as error:
            raise self._error(error) from None
        if item.etag and SIMPLE_ETAG.match(item.etag) and md5.hexdigest() != item.etag:
            raise Corrupt(
                f"{self.uri.raw}: {item.relative} does not match its ETag (MD5 {md5.hexdigest()} != {item.etag})"
            )
