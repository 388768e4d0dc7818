"""What every Python binding test shares: the server and users the harness made, an awaited
sync, and a test case that opens devices in temporary directories and logs them in.

Run by ../../run-python-tests.sh, which builds the library, generates the bindings into
FIELDSYNC_BINDINGS_DIR, starts the server at FIELDSYNC_SERVER_URL (and one paging pulls by 250
documents at FIELDSYNC_PAGED_SERVER_URL) and creates the users: li.wei (rep, territory east,
manager wang.fang), wang.fang (manager of east) and admin.
"""

import asyncio
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.environ["FIELDSYNC_BINDINGS_DIR"])

from fieldsync_mobile import FieldsyncClient  # noqa: E402

SERVER = os.environ["FIELDSYNC_SERVER_URL"]
PAGED_SERVER = os.environ.get("FIELDSYNC_PAGED_SERVER_URL")
REP, REP_PASSWORD = "li.wei", os.environ["FIELDSYNC_REP_PASSWORD"]
MANAGER, MANAGER_PASSWORD = "wang.fang", os.environ["FIELDSYNC_MANAGER_PASSWORD"]
ADMIN, ADMIN_PASSWORD = "admin", os.environ["FIELDSYNC_ADMIN_PASSWORD"]


def sync(client, progress=None):
    """Awaits the client's sync (a coroutine) to the end."""
    return asyncio.run(client.sync(progress))


class DeviceTest(unittest.TestCase):
    """A test case whose devices live in temporary directories removed after the test."""

    def device(self, name):
        d = tempfile.TemporaryDirectory(prefix=f"fieldsync-{name}-")
        # Cleanups run last registered first: a live mode started later stops before this.
        self.addCleanup(d.cleanup)
        return FieldsyncClient.open(d.name, f"{name} of {REP}")

    def logged_in(self, name, username=REP, password=REP_PASSWORD, server=SERVER):
        client = self.device(name)
        user = client.login(server, username, password)
        self.assertEqual(user.username, username)
        return client
