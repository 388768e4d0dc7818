"""Smoke tests of the orders, complaints, targets and KPI surface of the Python bindings, against a
real fieldsync-server: a rep's device and their manager's, each syncing in turn.

Run by ../../run-python-tests.sh (see support.py for what it starts). They check that the
records and errors cross the boundary and that each loop goes round through the server, not
the workflow rules again (client-core's tests do).
"""

import os
import tempfile
import unittest

from support import MANAGER, MANAGER_PASSWORD, REP, DeviceTest, sync

# After support, which puts the generated bindings on the path.
from fieldsync_mobile import (  # noqa: E402
    ComplaintFilter,
    FieldsyncError,
    MoneyRecord,
    NewComplaintRecord,
    NewCustomerRecord,
    NewOrderLineRecord,
    NewOrderRecord,
    NewVisitRecord,
    OrderFilter,
    SetTargetRecord,
)


class SalesTest(DeviceTest):
    def manager(self):
        """The rep's manager on a device of their own, synced (so it knows the team)."""
        manager = self.logged_in("manager", MANAGER, MANAGER_PASSWORD)
        sync(manager)
        return manager

    def assert_pushed_cleanly(self, client):
        """Syncs `client` and checks the server took every change it pushed."""
        report = sync(client)
        self.assertEqual(report.rejected, 0, f"refused: {client.quarantine()}")
        self.assertEqual(client.status().unsent, 0)

    def test_an_order_goes_from_the_reps_draft_to_paid_through_the_managers_device(self):
        phone = self.logged_in("phone")
        customer = phone.create_customer(NewCustomerRecord(name="温州精工阀门厂"))
        order = phone.create_order(
            NewOrderRecord(customer=customer, payment_terms="30 days net")
        )
        phone.add_order_line(
            order,
            NewOrderLineRecord(
                product="B-6204", name="深沟球轴承 6204", quantity=10, unit="box",
                unit_price=1_500, unit_cost=900,
            ),
        )
        draft = phone.add_order_line(
            order,
            NewOrderLineRecord(product="B-6205", name="深沟球轴承 6205", quantity=2,
                               unit_price=20_000),
        )
        self.assertEqual(draft.status, "draft")
        self.assertEqual([line.unit for line in draft.lines], ["box", "piece"])
        self.assertEqual(draft.total, MoneyRecord(amount=10 * 1_500 + 2 * 20_000, currency="CNY"))
        self.assertEqual(draft.gross_profit.amount, 10 * (1_500 - 900))
        self.assertEqual(draft.lines[1].gross_profit, None)

        submitted = phone.submit_order(order)
        self.assertEqual(submitted.status, "submitted")
        self.assertEqual([(s.status, s.by) for s in submitted.history], [("submitted", REP)])
        unsent = phone.status().unsent
        # The rep never confirms their own order: the device refuses before writing.
        with self.assertRaises(FieldsyncError.Rejected) as refused:
            phone.confirm_order(order)
        self.assertIn("your own order", refused.exception.reason)
        self.assertEqual(phone.get_order(order).status, "submitted")
        self.assertEqual(phone.status().unsent, unsent)
        self.assert_pushed_cleanly(phone)

        manager = self.manager()
        waiting = manager.list_orders(OrderFilter(customer=customer, status="submitted"))
        self.assertEqual([(o.id, o.line_count, o.total.amount) for o in waiting],
                         [(order, 2, 55_000)])
        self.assertEqual(manager.confirm_order(order).status, "confirmed")
        self.assertEqual(manager.ship_order(order).status, "shipped")
        self.assertEqual(manager.pay_order(order).status, "paid")
        self.assert_pushed_cleanly(manager)

        sync(phone)
        paid = phone.get_order(order)
        self.assertEqual(paid.status, "paid")
        self.assertEqual(
            [(s.status, s.by) for s in paid.history],
            [("submitted", REP), ("confirmed", MANAGER), ("shipped", MANAGER), ("paid", MANAGER)],
        )
        self.assertIsNotNone(paid.confirmed_at)
        rows = phone.list_orders(OrderFilter(customer=customer))
        self.assertEqual([(r.id, r.status, r.customer_name) for r in rows],
                         [(order, "paid", "温州精工阀门厂")])

    def test_a_complaint_goes_round_its_loop_and_is_closed_only_after_a_follow_up_visit(self):
        phone = self.logged_in("phone")
        customer = phone.create_customer(NewCustomerRecord(name="台州汽配制造"))
        complaint = phone.create_complaint(
            NewComplaintRecord(
                customer=customer, category="quality", priority="urgent",
                summary="bearings of the last batch hum at speed", channel="phone",
            )
        )
        received = phone.get_complaint(complaint)
        self.assertEqual(
            (received.status, received.category, received.priority, received.recorded_by),
            ("received", "quality", "urgent", REP),
        )
        self.assertIsNotNone(phone.complaint_deadline(complaint))
        # A photo of the humming bearing as evidence: a JPEG by its first bytes.
        with tempfile.TemporaryDirectory() as files:
            photo = os.path.join(files, "bearing.jpg")
            with open(photo, "wb") as f:
                f.write(bytes.fromhex("FFD8FFE000104A46494600010101") + os.urandom(2048))
            evidence = phone.attach_to_complaint(complaint, photo)
        self.assertEqual(phone.get_complaint(complaint).evidence, [evidence])
        self.assert_pushed_cleanly(phone)
        self.assertEqual(phone.status().attachments_pending, 0, "the evidence did not go up")

        manager = self.manager()
        assigned = manager.assign_complaint(complaint, REP)
        self.assertEqual(assigned.assignee, REP)
        self.assert_pushed_cleanly(manager)

        sync(phone)
        mine = phone.list_complaints(ComplaintFilter(assignee=REP, open=True))
        self.assertIn(complaint, [c.id for c in mine])
        looked_into = phone.step_complaint(complaint, "investigating", "called the buyer")
        self.assertEqual(looked_into.status, "investigating")
        self.assertIsNotNone(looked_into.responded_at)
        handled = phone.step_complaint(complaint, "handled", "replaced the batch")
        self.assertEqual(handled.status, "handled")

        # Not closed, nor followed up, without the visit that followed it up.
        with self.assertRaises(FieldsyncError.Invalid):
            phone.step_complaint(complaint, "closed")
        with self.assertRaises(FieldsyncError.Invalid) as no_visit:
            phone.step_complaint(complaint, "followed_up")
        self.assertIn("visit", no_visit.exception.reason)
        self.assertEqual(phone.get_complaint(complaint).status, "handled")

        visit = phone.record_visit(
            NewVisitRecord(customer=customer, visit_type="complaint",
                           summary="new batch runs quietly")
        )
        followed_up = phone.step_complaint(complaint, "followed_up", visit=visit)
        self.assertEqual((followed_up.status, followed_up.followup_visit), ("followed_up", visit))
        closed = phone.step_complaint(complaint, "closed", "customer satisfied")
        self.assertEqual(closed.status, "closed")
        self.assertIsNotNone(closed.closed_at)
        self.assertEqual(
            [(s.status, s.by, s.note) for s in closed.history],
            [
                ("investigating", REP, "called the buyer"),
                ("handled", REP, "replaced the batch"),
                ("followed_up", REP, None),
                ("closed", REP, "customer satisfied"),
            ],
        )
        self.assert_pushed_cleanly(phone)

        sync(manager)
        seen = manager.get_complaint(complaint)
        self.assertEqual((seen.status, seen.followup_visit), ("closed", visit))
        self.assertEqual(seen.evidence, [evidence])

    def test_the_manager_sets_the_reps_target_and_the_rep_reads_it_but_cannot_set_one(self):
        manager = self.manager()
        target = manager.set_target(
            SetTargetRecord(rep=REP, month="2026-12", sales=50_000_000, visits=40,
                            new_customers=5)
        )
        # Set again, only the figure given changes.
        self.assertEqual(manager.set_target(SetTargetRecord(rep=REP, month="2026-12", visits=45)),
                         target)
        self.assert_pushed_cleanly(manager)

        phone = self.logged_in("phone")
        sync(phone)
        rows = phone.list_targets(month="2026-12")
        self.assertEqual(
            [(t.id, t.rep, t.sales, t.visits, t.new_customers, t.set_by) for t in rows],
            [(target, REP, MoneyRecord(amount=50_000_000, currency="CNY"), 45, 5, MANAGER)],
        )
        self.assertIn(target, [t.id for t in phone.list_targets(rep=REP)])  # every month

        with self.assertRaises(FieldsyncError.Rejected) as refused:
            phone.set_target(SetTargetRecord(rep=REP, month="2026-12", sales=1))
        self.assertIn("a rep does not set targets", refused.exception.reason)
        with self.assertRaises(FieldsyncError.Rejected):
            phone.set_target(SetTargetRecord(rep=REP, month="2027-01", visits=10))
        self.assertEqual(phone.status().unsent, 0)
        self.assertEqual(phone.list_targets(rep=REP, month="2026-12")[0].sales.amount, 50_000_000)

    def test_the_kpis_count_a_confirmed_order_against_the_target_for_the_rep_and_the_team(self):
        # A month of its own, far from today's, so that no other test's figures count.
        month = "2025-10"
        manager = self.manager()
        manager.set_target(SetTargetRecord(rep=REP, month=month, sales=100_000, visits=4))
        self.assert_pushed_cleanly(manager)

        phone = self.logged_in("phone")
        customer = phone.create_customer(NewCustomerRecord(name="金华五金机电城"))
        order = phone.create_order(NewOrderRecord(customer=customer, date="2025-10-15"))
        phone.add_order_line(
            order,
            NewOrderLineRecord(product="B-6206", name="深沟球轴承 6206", quantity=10,
                               unit_price=5_000, unit_cost=3_000),
        )
        phone.submit_order(order)
        self.assert_pushed_cleanly(phone)
        sync(manager)
        manager.confirm_order(order)
        self.assert_pushed_cleanly(manager)
        sync(phone)

        mine = phone.kpi(period=month)
        self.assertEqual((mine.period, mine.reps, mine.by_rep), (month, [REP], []))
        self.assertEqual(
            (mine.sales, mine.sales_target, mine.sales_achievement, mine.orders_confirmed,
             mine.gross_profit, mine.visits_target),
            (50_000, 100_000, 50.0, 1, 20_000, 4),
        )
        self.assertIsNone(mine.sales_growth)  # nothing sold the month before

        team = manager.kpi(team=True, period=month)
        self.assertIn(REP, team.reps)
        by_rep = {r.reps[0]: r for r in team.by_rep}
        self.assertEqual((by_rep[REP].sales, by_rep[REP].sales_target), (50_000, 100_000))
        self.assertEqual(manager.kpi(rep=REP, period=month).sales, 50_000)
        with self.assertRaises(FieldsyncError.Invalid):
            phone.kpi(period="2025-13")


if __name__ == "__main__":
    unittest.main(verbosity=2)
