"""Smoke tests of the generated Python bindings against a real fieldsync-server.

Run by ../../run-python-tests.sh, which builds the library, generates the bindings into
FIELDSYNC_BINDINGS_DIR, starts the server at FIELDSYNC_SERVER_URL and creates the users.
These check the surface (records, errors, callbacks), not client-core's behaviour again.
"""

import asyncio
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.environ["FIELDSYNC_BINDINGS_DIR"])

from fieldsync_mobile import (  # noqa: E402
    CompetitorRecord,
    CustomerFilter,
    CustomerUpdate,
    ExpenseItemRecord,
    FieldsyncClient,
    FieldsyncError,
    MoneyRecord,
    NewCustomerRecord,
    NewExpenseClaimRecord,
    NewVisitRecord,
    PersonMetRecord,
    PlanFilter,
    SampleRecord,
    SpinRecord,
    SyncProgress,
    VisitFilter,
    VisitUpdate,
)

SERVER = os.environ["FIELDSYNC_SERVER_URL"]
REP, REP_PASSWORD = "li.wei", os.environ["FIELDSYNC_REP_PASSWORD"]
MANAGER, MANAGER_PASSWORD = "wang.fang", os.environ["FIELDSYNC_MANAGER_PASSWORD"]
ADMIN, ADMIN_PASSWORD = "admin", os.environ["FIELDSYNC_ADMIN_PASSWORD"]


def sync(client, progress=None):
    """Awaits the client's sync (a coroutine) to the end."""
    return asyncio.run(client.sync(progress))


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

    def logged_in(self, name, username=REP, password=REP_PASSWORD):
        client = self.device(name)
        user = client.login(SERVER, username, password)
        self.assertEqual(user.username, username)
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

        sync(phone)
        sync(laptop)
        sync(phone)

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
        report = sync(phone, progress)
        self.assertGreaterEqual(len(progress.calls), 1)
        rounds, pulled, more = progress.calls[-1]
        self.assertEqual(rounds, report.round_trips)
        self.assertEqual(pulled, report.pulled)
        self.assertFalse(more)
        self.assertGreaterEqual(report.pushed, 1)

    def test_a_progress_callback_may_call_the_client(self):
        phone = self.logged_in("phone")
        phone.create_customer(NewCustomerRecord(name="南通远洋渔具", territory="east"))

        class AsksStatus(SyncProgress):
            def __init__(self, client):
                self.client = client
                self.unsent = []

            def on_progress(self, rounds, pulled, more):
                # Would deadlock if the callback ran with the store held.
                self.unsent.append(self.client.status().unsent)

        progress = AsksStatus(phone)
        report = sync(phone, progress)
        self.assertEqual(len(progress.unsent), report.round_trips)
        self.assertEqual(progress.unsent[-1], 0)

    def test_two_awaited_syncs_run_one_after_the_other_and_both_finish(self):
        phone = self.logged_in("phone")
        phone.create_customer(NewCustomerRecord(name="常州新材料科技", territory="east"))

        async def both():
            return await asyncio.gather(phone.sync(None), phone.sync(None))

        first, second = asyncio.run(both())
        self.assertEqual(first.pushed + second.pushed, 1)
        self.assertEqual(phone.status().unsent, 0)

    def test_a_visit_is_corrected_offline_and_the_manager_comment_comes_back(self):
        phone = self.logged_in("phone")
        customer = phone.create_customer(NewCustomerRecord(name="宁波港机配件厂", territory="east"))
        visit = phone.record_visit(
            NewVisitRecord(
                customer=customer,
                checkin_at="2026-11-23T10:00:00+08:00",
                utc_offset_minutes=480,
                summary="met the plant manager",
            )
        )
        corrected = phone.update_visit(
            visit,
            VisitUpdate(
                outcome="progress",
                next_followup="2026-12-01",
                summary_append="wants a trial order",
                spin_append=SpinRecord(
                    situation="", problem="bearings fail after 3 months",
                    implication="", need_payoff="",
                ),
                add_competitors=[
                    CompetitorRecord(
                        competitor="SKF", product="6204",
                        price=MoneyRecord(amount=3_200, currency="CNY"),
                    )
                ],
                add_samples=[SampleRecord(product="6204-2RS", quantity=20, unit="pcs")],
            ),
        )
        self.assertEqual(corrected.summary, "met the plant manager\nwants a trial order")
        self.assertEqual(corrected.spin.problem, "bearings fail after 3 months")
        self.assertEqual(corrected.competitors[0].price.amount, 3_200)
        self.assertEqual(corrected.samples[0].quantity, 20)
        with self.assertRaises(FieldsyncError.Invalid):
            phone.update_visit(visit, VisitUpdate(outcome="won"))
        sync(phone)

        manager = self.logged_in("manager", MANAGER, MANAGER_PASSWORD)
        sync(manager)
        self.assertEqual(manager.get_visit(visit).spin.problem, "bearings fail after 3 months")
        manager.comment_visit(visit, "good find: send the trial price list")
        sync(manager)

        sync(phone)
        comments = phone.get_visit(visit).comments
        self.assertEqual([(c.author, c.text) for c in comments],
                         [(MANAGER, "good find: send the trial price list")])

    def test_an_expense_claim_goes_from_draft_to_paid(self):
        phone = self.logged_in("phone")
        claim = phone.create_expense_claim(NewExpenseClaimRecord(title="宁波 trip"))
        phone.add_expense_item(
            claim, ExpenseItemRecord(date="2026-11-20", category="lodging", amount=45_000)
        )
        draft = phone.add_expense_item(
            claim, ExpenseItemRecord(date="2026-11-21", category="meals", amount=8_800)
        )
        self.assertEqual((draft.status, draft.total.amount), ("draft", 53_800))
        self.assertEqual(phone.submit_expense_claim(claim).status, "submitted")
        sync(phone)

        manager = self.logged_in("manager", MANAGER, MANAGER_PASSWORD)
        sync(manager)
        waiting = manager.list_expense_claims(PlanFilter(approver=MANAGER, status="submitted"))
        self.assertIn(claim, [c.id for c in waiting])
        approved = manager.approve_expense_claim(claim, "ok")
        self.assertEqual((approved.status, approved.decision.by), ("approved", MANAGER))
        # The approver does not pay: an admin records the payment.
        with self.assertRaises(FieldsyncError.Rejected):
            manager.pay_expense_claim(claim)
        sync(manager)
        admin = self.logged_in("admin", ADMIN, ADMIN_PASSWORD)
        sync(admin)
        paid = admin.pay_expense_claim(claim)
        self.assertEqual((paid.status, paid.paid_by), ("paid", ADMIN))
        sync(admin)

        sync(phone)
        self.assertEqual(phone.get_expense_claim(claim).status, "paid")

    def test_a_forbidden_write_fails_at_once_and_writes_nothing(self):
        phone = self.logged_in("phone")
        with self.assertRaises(FieldsyncError.Rejected) as refused:
            phone.create_customer(NewCustomerRecord(name="哈尔滨北方机电", territory="north"))
        self.assertIn("north", refused.exception.reason)
        self.assertEqual(phone.status().unsent, 0)
        report = sync(phone)
        self.assertEqual(report.rejected, 0)
        self.assertEqual(phone.quarantine(), [])
        self.assertFalse(phone.discard_quarantined(1))

if __name__ == "__main__":
    unittest.main(verbosity=2)
