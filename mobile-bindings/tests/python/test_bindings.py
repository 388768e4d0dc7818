"""Smoke tests of the generated Python bindings against a real fieldsync-server.

Run by ../../run-python-tests.sh (see support.py for what it starts). These check the surface
(records, errors, callbacks) and that the app's reads never wait for a sync, not client-core's
behaviour again. Orders, complaints and targets are in test_sales.py.
"""

import asyncio
import glob
import hashlib
import os
import statistics
import sys
import tempfile
import threading
import time
import unittest

from support import (
    ADMIN,
    ADMIN_PASSWORD,
    MANAGER,
    MANAGER_PASSWORD,
    PAGED_SERVER,
    REP,
    SERVER,
    DeviceTest,
    sync,
)

# After support, which puts the generated bindings on the path.
from fieldsync_mobile import (  # noqa: E402
    CompetitorRecord,
    ContactUpdate,
    CustomerFilter,
    CustomerUpdate,
    ExpenseItemRecord,
    FieldsyncError,
    GeoRecord,
    LiveListener,
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


class Recorder(SyncProgress):
    def __init__(self):
        self.calls = []
        self.attachments = []

    def on_progress(self, rounds, pulled, to_push, more):
        self.calls.append((rounds, pulled, to_push, more))

    def on_attachment(self, progress):
        self.attachments.append(progress)


class Progress(SyncProgress):
    """A progress callback that ignores attachments (the tests that use it attach nothing)."""

    def on_attachment(self, progress):
        pass


# What a JPEG file starts with (SOI, then a JFIF APP0 segment): the device reads a file's type
# from its first bytes, never from its name.
JPEG_HEAD = bytes.fromhex("FFD8FFE000104A46494600010101")
# What a PDF file starts with.
PDF_HEAD = b"%PDF-1.4\n"
# What a Linux executable starts with.
ELF_HEAD = bytes.fromhex("7F454C46020101000000000000000000")


def write_file(folder, name, head, size=4096):
    """Writes `head` and `size` random bytes to `name` in `folder`; returns its path and bytes."""
    data = head + os.urandom(size)
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path, data


class Heard(LiveListener):
    """Keeps what live mode told, for a test to wait on."""

    def __init__(self):
        self.changes, self.errors = [], []
        self._told = threading.Condition()

    def on_change(self, change):
        with self._told:
            self.changes.append(change)
            self._told.notify_all()

    def on_error(self, error):
        with self._told:
            self.errors.append(error)
            self._told.notify_all()

    def wait_for(self, kind, doc_id, timeout):
        """Whether a change of `doc_id` under `kind` was told within `timeout` seconds."""

        def told():
            return any(
                doc_id in docs.ids
                for change in self.changes
                for docs in change.changed
                if docs.kind == kind
            )

        with self._told:
            return self._told.wait_for(told, timeout)

    def wait_pushed(self, timeout):
        """Whether a round that pushed something was told within `timeout` seconds."""
        with self._told:
            return self._told.wait_for(
                lambda: sum(c.pushed for c in self.changes) >= 1, timeout
            )


def live_threads():
    """The live mode threads of this process, by their kernel names (15 bytes at most)."""
    names = []
    for comm in glob.glob("/proc/self/task/*/comm"):
        try:
            with open(comm) as f:
                names.append(f.read().strip())
        except OSError:
            pass  # the thread ended meanwhile
    return sorted(n for n in names if n in ("fieldsync-live", "fieldsync-event"))


class BindingsTest(DeviceTest):
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
        rounds, pulled, to_push, more = progress.calls[-1]
        self.assertEqual(rounds, report.round_trips)
        self.assertEqual(pulled, report.pulled)
        self.assertEqual(to_push, 0)
        self.assertFalse(more)
        self.assertGreaterEqual(report.pushed, 1)

    def test_a_progress_callback_may_call_the_client(self):
        phone = self.logged_in("phone")
        phone.create_customer(NewCustomerRecord(name="南通远洋渔具", territory="east"))

        class AsksStatus(Progress):
            def __init__(self, client):
                self.client = client
                self.unsent = []

            def on_progress(self, rounds, pulled, to_push, more):
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

    def folder(self):
        """A temporary folder for files to attach, removed after the test."""
        d = tempfile.TemporaryDirectory(prefix="fieldsync-files-")
        self.addCleanup(d.cleanup)
        return d.name

    def test_a_visit_photo_and_receipts_go_up_and_the_manager_fetches_the_photo(self):
        files = self.folder()
        phone = self.logged_in("phone")
        customer = phone.create_customer(NewCustomerRecord(name="湖州照片五金店"))
        visit = phone.record_visit(NewVisitRecord(customer=customer, summary="shop front"))
        photo_path, photo = write_file(files, "photo.jpg", JPEG_HEAD)

        attached = phone.attach_to_visit(visit, photo_path, check_in=True)
        self.assertEqual(attached.id, hashlib.sha256(photo).hexdigest())
        self.assertEqual(
            (attached.name, attached.media_type, attached.size, attached.added_by),
            ("photo.jpg", "image/jpeg", len(photo), REP),
        )
        recorded = phone.get_visit(visit)
        self.assertEqual(recorded.photos, [attached])
        self.assertEqual(recorded.checkin_photo, attached.id)

        # A receipt with its expense in one step, and one attached to an expense later.
        receipt_path, receipt = write_file(files, "receipt.jpg", JPEG_HEAD, 2048)
        taxi_path, taxi = write_file(files, "taxi.jpg", JPEG_HEAD, 1024)
        claim = phone.create_expense_claim(NewExpenseClaimRecord(title="湖州 trip"))
        phone.add_expense_item(
            claim,
            ExpenseItemRecord(date="2026-11-20", category="lodging", amount=38_000,
                              receipt=receipt_path),
        )
        with_taxi = phone.add_expense_item(
            claim, ExpenseItemRecord(date="2026-11-21", category="transport", amount=4_500)
        )
        lodging, ride = with_taxi.items
        self.assertEqual(lodging.receipt.id, hashlib.sha256(receipt).hexdigest())
        self.assertIsNone(ride.receipt)
        taxi_ref = phone.attach_receipt(claim, ride.id, taxi_path)
        self.assertEqual(phone.get_expense_claim(claim).items[1].receipt, taxi_ref)
        card_path, card = write_file(files, "card.pdf", PDF_HEAD, 512)
        card_ref = phone.attach_to_customer(customer, card_path, business_card=True)
        self.assertEqual(card_ref.media_type, "application/pdf")
        on_file = phone.get_customer(customer)
        self.assertEqual((on_file.business_cards, on_file.photos), ([card_ref], []))

        ids = {attached.id, lodging.receipt.id, taxi_ref.id, card_ref.id}
        sizes = len(photo) + len(receipt) + len(taxi) + len(card)
        status = phone.status()
        self.assertEqual((status.attachments_pending, status.attachment_bytes_pending), (4, sizes))
        pending = phone.attachments(pending_only=True)
        self.assertEqual({a.id for a in pending}, ids)
        self.assertTrue(all(a.state == "pending" and a.local for a in pending))
        on_visit = next(a for a in pending if a.id == attached.id)
        self.assertEqual([(d.doc_id, d.kind) for d in on_visit.documents], [(visit, "visit")])

        # A disguised file is refused by its content, whatever its name, and nothing changes.
        unsent = phone.status().unsent
        elf_path, _ = write_file(self.folder(), "photo.jpg", ELF_HEAD)
        with self.assertRaises(FieldsyncError.Invalid) as refused:
            phone.attach_to_visit(visit, elf_path)
        self.assertIn("photo.jpg", refused.exception.reason)
        with self.assertRaises(FieldsyncError.Invalid):
            phone.add_expense_item(
                claim, ExpenseItemRecord(date="2026-11-22", category="meals", amount=1_000,
                                         receipt=elf_path),
            )
        with self.assertRaises(FieldsyncError.Invalid):
            phone.attach_to_customer(customer, os.path.join(files, "missing.jpg"))
        self.assertEqual(phone.get_visit(visit).photos, [attached])
        self.assertEqual(len(phone.get_expense_claim(claim).items), 2)
        self.assertEqual({a.id for a in phone.attachments()}, ids)
        self.assertEqual((phone.status().attachments_pending, phone.status().unsent), (4, unsent))

        progress = Recorder()
        report = sync(phone, progress)
        self.assertEqual(report.rejected, 0)
        self.assertEqual((report.attachments.uploaded, report.attachments.pending), (4, 0))
        self.assertGreaterEqual(report.attachments.bytes_sent, sizes)
        uploads = [p for p in progress.attachments if p.direction == "upload"]
        self.assertEqual({p.id for p in uploads}, ids)
        last = [p for p in uploads if p.id == attached.id][-1]
        self.assertEqual((last.done, last.size, last.name, last.of),
                         (len(photo), len(photo), "photo.jpg", 4))
        status = phone.status()
        self.assertEqual((status.attachments_pending, status.attachment_bytes_pending), (0, 0))
        self.assertEqual(status.attachments_refused, [])
        self.assertEqual(phone.attachments(pending_only=True), [])
        self.assertFalse(phone.retry_attachment(attached.id), "it was not refused")

        manager = self.logged_in("manager", MANAGER, MANAGER_PASSWORD)
        sync(manager)
        self.assertEqual(manager.get_visit(visit).photos, [attached])
        fetching = Recorder()
        path = manager.fetch_attachment(attached.id, fetching)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), photo)
        downloads = [p for p in fetching.attachments if p.direction == "download"]
        self.assertTrue(downloads, "the download told no progress")
        self.assertEqual((downloads[-1].done, downloads[-1].size), (len(photo), len(photo)))
        self.assertEqual(manager.fetch_attachment(attached.id), path)
        saved = manager.save_attachment(attached.id, files + os.sep + "saved.jpg")
        with open(saved, "rb") as f:
            self.assertEqual(f.read(), photo)
        fetched = next(a for a in manager.attachments() if a.id == attached.id)
        self.assertEqual((fetched.state, fetched.local), ("fetched", True))
        # Random bytes after a JPEG header are no image the server can make a thumbnail of.
        with self.assertRaises(FieldsyncError.NotFound) as no_thumbnail:
            manager.thumbnail_path(attached.id)
        self.assertIn("thumbnail", no_thumbnail.exception.reason)
        with self.assertRaises(FieldsyncError.NotFound):
            manager.fetch_attachment("0" * 64)

        manager.set_attachment_cache_budget(50_000_000)
        self.assertEqual(manager.attachment_cache_budget(), 50_000_000)
        with self.assertRaises(FieldsyncError.Invalid):
            manager.set_attachment_cache_budget(-1)

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
        for unknown in (phone.quarantined, phone.retry_quarantined, phone.export_quarantined):
            with self.assertRaises(FieldsyncError.NotFound):
                unknown(1)

    def test_live_mode_brings_a_customer_to_the_other_device_without_a_sync(self):
        phone = self.logged_in("phone")
        manager = self.logged_in("manager", MANAGER, MANAGER_PASSWORD)
        on_phone, on_manager = Heard(), Heard()
        for client, heard in ((phone, on_phone), (manager, on_manager)):
            client.start_live(heard)
            self.addCleanup(client.stop_live)
        self.assertTrue(phone.is_live() and manager.is_live())

        began = time.monotonic()
        customer = phone.create_customer(NewCustomerRecord(name="杭州实时轴承有限公司"))
        self.assertTrue(
            on_manager.wait_for("customer", customer, 10),
            f"the manager was not told within 10 s; errors: {on_manager.errors}",
        )
        took = time.monotonic() - began
        self.assertEqual(manager.get_customer(customer).name, "杭州实时轴承有限公司")
        # The phone's listener hears of its push once its round is done, which may come after
        # the server has already told the manager.
        self.assertTrue(
            on_phone.wait_pushed(10),
            f"the phone did not tell of its push within 10 s; errors: {on_phone.errors}",
        )
        self.assertEqual(phone.status().unsent, 0)
        print(f"\n  live: the manager was told {took * 1000:.0f} ms after the phone wrote",
              file=sys.stderr)

    def test_stop_live_returns_soon_and_leaves_no_thread_behind(self):
        with self.assertRaises(FieldsyncError.Auth):
            self.device("tablet").start_live(Heard())
        phone = self.logged_in("phone")
        heard = Heard()
        phone.start_live(heard)
        self.addCleanup(phone.stop_live)
        # The reader starts once the event stream is open.
        deadline = time.monotonic() + 10
        while live_threads() != ["fieldsync-event", "fieldsync-live"]:
            self.assertLess(time.monotonic(), deadline, f"threads: {live_threads()}")
            time.sleep(0.02)

        began = time.monotonic()
        phone.stop_live()
        took = time.monotonic() - began
        self.assertLess(took, 3, "stop_live took too long")
        print(f"\n  live: stop_live took {took * 1000:.0f} ms", file=sys.stderr)
        self.assertFalse(phone.is_live())
        self.assertEqual(live_threads(), [])
        self.assertEqual(heard.errors, [])

        phone.create_customer(NewCustomerRecord(name="停止后客户"))
        self.assertEqual(sync(phone).pushed, 1)

    def test_a_customer_update_reads_typed_text_and_the_empty_text_clears(self):
        phone = self.logged_in("phone")
        # No territory given: the rep's only one.
        customer = phone.create_customer(
            NewCustomerRecord(name="绍兴纺织机械厂", city="绍兴", phone="0575-8888")
        )
        self.assertEqual(phone.get_customer(customer).territory, "east")
        updated = phone.update_customer(
            customer,
            CustomerUpdate(
                tier="b",
                city="",
                monthly_demand="20 吨",
                current_price="128.50",
                competitor_notes_append="SKF cut prices by 5%",
            ),
        )
        self.assertEqual(updated.tier, "B")
        self.assertIsNone(updated.city)
        self.assertEqual(updated.phone, "0575-8888")
        self.assertEqual((updated.monthly_demand, updated.demand_unit), (20, "吨"))
        self.assertEqual(updated.current_price, MoneyRecord(amount=12_850, currency="CNY"))
        self.assertIn("SKF cut prices by 5%", updated.competitor_notes)
        cleared = phone.update_customer(customer, CustomerUpdate(current_price=""))
        self.assertIsNone(cleared.current_price)
        with self.assertRaises(FieldsyncError.Invalid):
            phone.update_customer(customer, CustomerUpdate(current_price="-5"))
        with self.assertRaises(FieldsyncError.Invalid):
            phone.update_customer(customer, CustomerUpdate())

        with_contact = phone.add_contact(customer, "周经理", "采购", None)
        contact = with_contact.contacts[0]
        corrected = phone.update_contact(
            customer, contact.id, ContactUpdate(title="", phone="139-0000-0000")
        )
        self.assertEqual(
            (corrected.contacts[0].title, corrected.contacts[0].phone),
            (None, "139-0000-0000"),
        )

    def test_a_visit_takes_the_facades_defaults_and_a_patch(self):
        phone = self.logged_in("phone")
        customer = phone.create_customer(NewCustomerRecord(name="嘉兴五金商行"))
        # No check-in time and no type: now, and a first visit is a cold visit.
        visit = phone.record_visit(
            NewVisitRecord(
                customer=customer,
                summary="first call",
                people_met=[PersonMetRecord(name="陆老板")],
                samples=[SampleRecord(product="6204-2RS", quantity=5)],
            )
        )
        recorded = phone.get_visit(visit)
        self.assertEqual(recorded.visit_type, "cold_visit")
        self.assertEqual(recorded.samples[0].quantity, 5)
        patched = phone.update_visit(
            visit,
            VisitUpdate(
                summary="first call: wants a catalogue",
                remove_people=["陆老板"],
                quote_amount=MoneyRecord(amount=99_00, currency="CNY"),
            ),
        )
        self.assertEqual(patched.summary, "first call: wants a catalogue")
        self.assertEqual(patched.people_met, [])
        self.assertEqual(patched.quote_amount.amount, 99_00)
        moved = phone.set_visit_geo(visit, GeoRecord(lat=30.75, lon=120.76))
        self.assertEqual(moved.checkin_geo, GeoRecord(lat=30.75, lon=120.76))
        self.assertIsNone(phone.set_visit_geo(visit, None).checkin_geo)
        self.assertEqual(
            [v.id for v in phone.list_visits(VisitFilter(customer=customer))], [visit]
        )

    def seed_paged_server(self, at_least):
        """Makes sure the paged server holds `at_least` customers of the rep's (in east),
        created on a rep device and pushed. Returns how many it created, and the seconds
        creating and pushing took."""
        rep = self.logged_in("seeder", server=PAGED_SERVER)
        sync(rep)
        have = len(rep.list_customers(CustomerFilter(limit=at_least)))
        began = time.monotonic()
        for i in range(have, at_least):
            rep.create_customer(
                NewCustomerRecord(name=f"分页客户 {i:05d}", city="杭州" if i % 2 else "宁波")
            )
        created = time.monotonic()
        pushed = sync(rep)
        self.assertEqual(pushed.pushed, max(at_least - have, 0))
        return max(at_least - have, 0), created - began, time.monotonic() - created

    @unittest.skipUnless(PAGED_SERVER, "FIELDSYNC_PAGED_SERVER_URL is not set")
    def test_cancel_sync_and_an_abandoned_await_stop_a_sync_between_rounds(self):
        self.seed_paged_server(1_000)  # four pages at least: rounds left after a cancel

        class CancelsAtOnce(Progress):
            def __init__(self, client):
                self.client = client
                self.calls = 0

            def on_progress(self, rounds, pulled, to_push, more):
                self.calls += 1
                self.client.cancel_sync()

        manager = self.logged_in("manager", MANAGER, MANAGER_PASSWORD, server=PAGED_SERVER)
        progress = CancelsAtOnce(manager)
        # The callback runs beside the sync, which may start one more round meanwhile.
        with self.assertRaises(FieldsyncError.Cancelled):
            sync(manager, progress)
        self.assertGreaterEqual(progress.calls, 1)
        kept = len(manager.list_customers(CustomerFilter(limit=1_000)))
        self.assertGreater(kept, 0, "the rounds done before the cancel were not kept")
        self.assertGreater(sync(manager).pulled, 0, "the cancelled sync ran to the end")

        laptop = self.logged_in("laptop", MANAGER, MANAGER_PASSWORD, server=PAGED_SERVER)
        first_round = threading.Event()

        class Tells(Progress):
            def on_progress(self, rounds, pulled, to_push, more):
                first_round.set()

        async def abandon():
            task = asyncio.ensure_future(laptop.sync(Tells()))
            while not first_round.is_set() and not task.done():
                await asyncio.sleep(0.001)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

        asyncio.run(abandon())
        # The next sync waits for the abandoned one to stop, then pulls what it left.
        self.assertGreater(sync(laptop).pulled, 0, "the abandoned sync ran to the end")
        self.assertEqual(laptop.status().unsent, 0)

    @unittest.skipUnless(PAGED_SERVER, "FIELDSYNC_PAGED_SERVER_URL is not set")
    def test_reads_go_on_while_a_first_sync_pulls_thousands_of_documents(self):
        seeded, reads_wanted = 5_000, 100
        created, seeding, pushing = self.seed_paged_server(seeded)

        manager = self.logged_in("manager", MANAGER, MANAGER_PASSWORD, server=PAGED_SERVER)
        own = manager.create_customer(NewCustomerRecord(name="经理自建客户", city="杭州"))
        reads = [
            lambda: manager.list_customers(CustomerFilter(limit=50)),
            lambda: manager.list_customers(CustomerFilter(search="杭州", limit=20)),
            lambda: manager.get_customer(own),
        ]

        first_page = threading.Event()

        class FirstPage(Progress):
            def on_progress(self, rounds, pulled, to_push, more):
                if pulled > 0:
                    first_page.set()

        synced = {}

        def run_sync():
            async def timed():
                report = await manager.sync(FirstPage())
                return report, time.monotonic()

            began = time.monotonic()
            try:
                synced["report"], synced["ended"] = asyncio.run(timed())
                synced["took"] = synced["ended"] - began
            finally:
                first_page.set()  # the reader never waits for a sync that failed

        timings = []
        errors = []

        def run_reads():
            # From the first merged page on, so that the reads meet the sync mid-way.
            first_page.wait(120)
            for i in range(reads_wanted):
                began = time.monotonic()
                try:
                    reads[i % len(reads)]()
                except Exception as e:  # noqa: BLE001: reported below, not swallowed
                    errors.append(e)
                ended = time.monotonic()
                timings.append((ended - began, ended))

        syncer = threading.Thread(target=run_sync, name="sync")
        reader = threading.Thread(target=run_reads, name="reads")
        syncer.start()
        reader.start()
        syncer.join(180)
        reader.join(180)
        self.assertFalse(syncer.is_alive() or reader.is_alive(), "the sync or the reads hang")
        self.assertEqual(errors, [])
        self.assertIn("report", synced, "the sync failed")
        report = synced["report"]
        self.assertGreaterEqual(report.pulled, seeded)
        self.assertEqual(len(timings), reads_wanted)

        took = [t for t, _ in timings]
        last_read = max(ended for _, ended in timings)
        print(
            f"\n  reads during sync: seeded {created} customers (to {seeded}) in {seeding:.1f} s, "
            f"pushed in {pushing:.1f} s; first sync of the manager: {report.pulled} documents in "
            f"{report.round_trips} rounds, {synced['took']:.2f} s; {reads_wanted} reads: mean "
            f"{statistics.mean(took) * 1000:.1f} ms, slowest {max(took) * 1000:.1f} ms, the "
            f"last done {synced['ended'] - last_read:.2f} s before the sync",
            file=sys.stderr,
        )
        self.assertLess(last_read, synced["ended"], "a read waited for the sync")


if __name__ == "__main__":
    unittest.main(verbosity=2)
