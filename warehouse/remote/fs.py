"""fsspec filesystems for `s3://` and `http(s)://` locations, and their errors in our words.

S3: anonymous (unsigned) unless the usual AWS environment names credentials (access key
variables, a profile, a web identity or container role, ~/.aws files), so the public Allen
bucket works with nothing set up; `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` point it at
another endpoint (moto in the tests). Large blocks, the default read-ahead cache: never
`cache_type="bytes"`, which returned corrupt data here (see PLATFORM_NOTES.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec

from warehouse.errors import DataError, UsageError

BLOCK_SIZE = 32 << 20
_CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                   "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI")


def has_aws_credentials() -> bool:
    if any(os.environ.get(name) for name in _CREDENTIAL_ENV):
        return True
    home = Path(os.environ.get("HOME", "~")).expanduser()
    files = [os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials",
             os.environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config"]
    return any(Path(f).is_file() for f in files)


def s3(anon: bool | None = None):
    import s3fs

    client: dict[str, str] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        client["endpoint_url"] = endpoint
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        client["region_name"] = region
    return s3fs.S3FileSystem(
        anon=(not has_aws_credentials()) if anon is None else anon,
        client_kwargs=client, default_block_size=BLOCK_SIZE, skip_instance_cache=True,
        use_listings_cache=False)


def scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else "file"


def filesystem(uri: str):
    """(filesystem, path within it) for an `s3://` or `http(s)://` URI."""
    kind = scheme(uri)
    if kind in ("s3", "s3a"):
        return s3(), uri.split("://", 1)[1]
    if kind in ("http", "https"):
        return fsspec.filesystem(kind), uri
    raise UsageError(f"cannot read {uri}: only local paths, s3:// and https:// are supported")


def join(base: str, relative: str) -> str:
    return base.rstrip("/") + "/" + relative.lstrip("/")


@contextmanager
def explained(uri: str, *, listed_in: str | None = None) -> Iterator[None]:
    """Turn fsspec/botocore errors about `uri` into errors that say what to do."""
    try:
        yield
    except FileNotFoundError as error:
        if listed_in:
            raise DataError(f"the manifest lists this file but it is not there ({error})",
                            file=uri, hint=f"check {listed_in} against the bucket, or use an "
                            "older release's manifest") from None
        raise UsageError(f"nothing at {uri}", hint="check the bucket, prefix and spelling "
                         "(`aws s3 ls` or a browser shows what is there)") from None
    except PermissionError as error:
        who = "with the AWS credentials found" if has_aws_credentials() else "anonymously"
        raise UsageError(
            f"access denied to {uri} ({error}); tried {who}",
            hint="the bucket is not public: set AWS credentials (AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for an account that may read it",
        ) from None
    except (OSError, ValueError) as error:
        raise _unreadable(uri, error) from None
    except Exception as error:
        status = getattr(error, "status", None)  # aiohttp's ClientResponseError
        if status in (401, 403):
            raise UsageError(f"access denied to {uri} (HTTP {status})",
                             hint="the server refuses this file: check the URL") from None
        if status == 404:
            raise UsageError(f"nothing at {uri} (HTTP 404)", hint="check the URL") from None
        if type(error).__module__.split(".")[0] in ("botocore", "aiobotocore", "aiohttp"):
            raise _unreadable(uri, error) from None
        raise


def _unreadable(uri: str, error: BaseException) -> DataError:
    return DataError(f"could not read it: {error}", file=uri,
                     hint="check the network and the endpoint, then run the build again "
                     "(finished downloads are kept in the cache)")
