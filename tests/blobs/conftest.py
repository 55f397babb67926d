from tests.s3server import moto_server, s3

__all__ = ["moto_server", "s3"]
