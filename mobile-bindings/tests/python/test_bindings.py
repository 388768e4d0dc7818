"""Smoke tests of the generated Python bindings against a real fieldsync-server.

Run by ../../run-python-tests.sh, which builds the library, generates the bindings into
FIELDSYNC_BINDINGS_DIR, starts the server at FIELDSYNC_SERVER_URL and creates the users.
These check the surface (records, errors, callbacks), not client-core's behaviour again.
"""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.environ["FIELDSYNC_BINDINGS_DIR"])

from fieldsync_mobile import (  # noqa: E402
    CustomerFilter,
    CustomerUpdate,
    FieldsyncClient,
    FieldsyncError,
    NewCustomerRecord,
    NewVisitRecord,
    PersonMetRecord,
    SyncProgress,
    VisitFilter,
)

SERVER = os.environ["FIELDSYNC_SERVER_URL"]
REP, REP_PASSWORD = "li.wei", os.environ["FIELDSYNC_REP_PASSWORD"]


class Recorder(SyncProgress):
    def __init__(self):
        self.calls = []

    def on_progress(self, rounds, pulled, more):
        self.calls.append((rounds, pulled, more))


class BindingsTest(unittest.TestCase):
    def setUp(self):
        self._dirs = []

    def tearDown(self):
        for d in self._dirs:
            d.cleanup()

    def device(self, name):
        d = tempfile.TemporaryDirectory(prefix=f"fieldsync-{name}-")
        self._dirs.append(d)
        return FieldsyncClient.open(d.name, f"{name} of {REP}")

    def logged_in(self, name):
        client = self.device(name)
        user = client.login(SERVER, REP, REP_PASSWORD)
        self.assertEqual(user.username, REP)
        return client

    def customer_names(self, client):
        return {r.name for r in client.list_customers(CustomerFilter(limit=500))}

    def test_phone_and_laptop_record_offline_sync_and_converge(self):
        phone = self.logged_in("phone")
        laptop = self.logged_in("laptop")

        # Offline: neither talks to the server until sync.
        on_phone = phone.create_customer(
            NewCustomerRecord(name="华东精密机械有限公司", territory="east", tier="A")
        )
        phone.record_visit(
            NewVisitRecord(
                customer=on_phone,
                checkin_at="2026-11-23T09:30:00+08:00",
                utc_offset_minutes=480,
                summary="phone: met the buyer, samples next week",
                people_met=[PersonMetRecord(name="王经理", title="采购经理")],
                outcome="progress",
            )
        )
        on_laptop = laptop.create_customer(
            NewCustomerRecord(name="苏州宏达贸易", territory="east", customer_type="distributor")
        )
        laptop.record_visit(
            NewVisitRecord(
                customer=on_laptop,
                checkin_at="2026-11-23T14:00:00+08:00",
                utc_offset_minutes=480,
                summary="laptop: quote presented",
            )
        )
        laptop.update_customer(on_laptop, CustomerUpdate(city="苏州", notes_append="pays on time"))
        self.assertEqual(phone.status().unsent, 2)

        phone.sync(None)
        laptop.sync(None)
        phone.sync(None)

        for client in (phone, laptop):
            names = self.customer_names(client)
            self.assertIn("华东精密机械有限公司", names)
            self.assertIn("苏州宏达贸易", names)
            summaries = {v.summary for v in client.list_visits(VisitFilter(author=REP))}
            self.assertIn("phone: met the buyer, samples next week", summaries)
            self.assertIn("laptop: quote presented", summaries)
            self.assertEqual(client.status().unsent, 0)
        seen = phone.get_customer(on_laptop)
        self.assertEqual(seen.city, "苏州")
        self.assertIn("pays on time", seen.notes)
        self.assertEqual(laptop.get_customer(on_phone).tier, "A")

    def test_an_empty_customer_name_raises_invalid(self):
        phone = self.logged_in("phone")
        with self.assertRaises(FieldsyncError.Invalid) as caught:
            phone.create_customer(NewCustomerRecord(name="", territory="east"))
        self.assertIn("name", caught.exception.reason)
        with self.assertRaises(FieldsyncError.Invalid):
            phone.create_customer(NewCustomerRecord(name="某公司", territory="east", tier="Z"))

    def test_a_wrong_password_raises_auth(self):
        phone = self.device("phone")
        with self.assertRaises(FieldsyncError.Auth) as caught:
            phone.login(SERVER, REP, "not the password")
        self.assertTrue(caught.exception.reason)
        self.assertIsNone(phone.status().user)

    def test_an_unknown_document_raises_not_found(self):
        phone = self.logged_in("phone")
        with self.assertRaises(FieldsyncError.NotFound):
            phone.get_customer("01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f")

    def test_sync_progress_callbacks_arrive(self):
        phone = self.logged_in("phone")
        phone.create_customer(NewCustomerRecord(name="无锡华光电器", territory="east"))
        progress = Recorder()
        report = phone.sync(progress)
        self.assertGreaterEqual(len(progress.calls), 1)
        rounds, pulled, more = progress.calls[-1]
        self.assertEqual(rounds, report.round_trips)
        self.assertEqual(pulled, report.pulled)
        self.assertFalse(more)
        self.assertGreaterEqual(report.pushed, 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
