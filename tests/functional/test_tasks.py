"""Background jobs on the task queue (storefront/tasks.py, issue 17): periodic work once per
period whatever the number of consumers, reconciliation runs that overlap paying nothing
twice, imports cut off mid-way reported failed with the reason, and a queue that is down
losing nothing the user did."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from storefront import tasks
from storefront.catalogue.models import Product
from storefront.checkout.models import Purchase
from storefront.extensions import db
from storefront.payments.models import PaymentRecord
from storefront.seller.import_models import ImportJob
from storefront.timeutil import utcnow
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.functional import test_stock_and_money
from tests.functional.test_checkout import start_purchase
from tests.helpers import redis_reason

goods = test_stock_and_money.goods  # the fixture: two shops' goods


def all_at_once(function, times: int) -> list:
    barrier, results = threading.Barrier(times), []

    def one():
        barrier.wait()
        results.append(function())

    threads = [threading.Thread(target=one) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.fixture
def redis_queue(app):
    """The app's queue on the real Redis, under a name of this test's own."""
    if reason := redis_reason():
        pytest.skip(reason)
    immediate = app.extensions["gerai.tasks"]
    app.config.update(REDIS_URL="redis://127.0.0.1:6379/0",
                      TASK_QUEUE_NAME=f"gerai-test-{uuid.uuid4().hex[:8]}")
    queue = tasks.install(app, "redis")
    yield queue
    queue.huey.storage.flush_all()
    app.extensions["gerai.tasks"] = immediate
    app.config.update(TASK_QUEUE="", REDIS_URL="")


def test_periodic_work_runs_once_per_period_however_many_consumers_schedule_it(app, redis_queue):
    runs = []
    tasks.register(app, "probe", lambda: runs.append(1), periodic=True)
    # Four consumers' schedulers enqueue the same minute's run, and their workers take it at once.
    all_at_once(redis_queue.periodic["probe"].call_local, 4)
    assert len(runs) == 1
    # The heartbeat, the search sweep, reconciliation and the import sweep are all periodic.
    assert set(tasks.PERIODIC) <= set(redis_queue.periodic)


@pytest.mark.usefixtures("sandbox_app")
def test_reconciliation_runs_that_overlap_pay_each_purchase_once(app, client, goods, sandbox,
                                                                 runner):
    purchase = start_purchase(client, goods)
    sandbox.pay(purchase.payment_id)  # its webhook is lost: only the reconciler can see it
    db.session.execute(update(Purchase).values(created_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    reconcile = tasks.queue().tasks["reconcile_payments"].call_local
    all_at_once(reconcile, 3)  # the minute's run, a late one, and the office's command
    db.session.expire_all()
    assert db.session.get(Purchase, purchase.id).status == "paid"
    assert db.session.scalar(select(func.count(PaymentRecord.id)).where(
        PaymentRecord.purchase_id == purchase.id, PaymentRecord.kind == "settled")) == 1
    assert runner.invoke(args=["ledger-check"]).exit_code == 0


def _job(shop, status: str, last_sign_of_life) -> ImportJob:
    job = ImportJob(shop_id=shop.id, filename="katalog.csv", status=status, total=2000,
                    done=700, started_at=last_sign_of_life, heartbeat_at=last_sign_of_life,
                    content=b"sku,nama\n")
    db.session.add(job)
    db.session.commit()
    return job


def test_an_import_cut_off_mid_way_is_reported_failed_with_the_reason(app, client, auth):
    owner = UserFactory(email="ijah@contoh.id", roles=["shopper", "seller"])
    shop = ShopFactory(owner=owner)
    silent_for = timedelta(minutes=20)  # past both limits (15 min SQLite, 2 min PostgreSQL)
    cut_off = _job(shop, "running", utcnow() - silent_for)
    alive = _job(shop, "running", utcnow())
    finished = _job(shop, "done", utcnow() - silent_for)
    assert tasks.queue().tasks["sweep_imports"].call_local() == 1
    db.session.expire_all()
    assert db.session.get(ImportJob, cut_off.id).status == "failed"
    assert db.session.get(ImportJob, alive.id).status == "running"
    assert db.session.get(ImportJob, finished.id).status == "done"
    auth.login("ijah@contoh.id")
    page = client.get(f"/penjual/produk/impor/{cut_off.id}").get_data(as_text=True)
    assert "Impor terhenti" in page and "Tidak ada yang tersimpan" in page
    assert "hx-trigger" not in page  # nothing left polling a job that will never end


@pytest.fixture
def queue_down(app):
    immediate = app.extensions["gerai.tasks"]
    app.config.update(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    tasks.install(app, "redis")
    yield
    app.extensions["gerai.tasks"] = immediate
    app.config.update(TASK_QUEUE="", REDIS_URL="")


def test_a_queue_that_is_down_loses_nothing_the_user_did(app, queue_down):
    # A product saved while the queue is down is saved; the periodic sweep indexes it later.
    product = ProductFactory(name="Dodol Betawi")
    db.session.expire_all()
    assert db.session.get(Product, product.id).name == "Dodol Betawi"
    # An import that cannot be handed over says so at once instead of "running" for ever.
    shop = ShopFactory()
    job = _job(shop, "running", utcnow())
    from storefront.seller import imports

    imports.start(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.status == "failed" and "Antrean kerja server sedang tidak tersedia" in job.error


def test_the_consumer_keeps_the_readiness_check_green(app, client, task_consumer):
    checks = client.get("/siap").json["checks"]
    assert checks["worker"] == "ok"


def test_metrics_show_the_queue_and_count_failed_tasks(app, client, task_consumer):
    import time

    def breaks():
        raise RuntimeError("sengaja")

    tasks.register(app, "breaks", breaks)
    tasks.enqueue("breaks")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "\ngerai_queue_failed 1.0" not in (
            text := client.get("/metrics").get_data(as_text=True)):
        time.sleep(0.05)
    assert "\ngerai_queue_failed 1.0" in text
    assert "\ngerai_queue_pending 0.0" in text


def test_a_commit_enqueues_each_kind_of_work_once_and_a_rollback_nothing(app, redis_queue):
    from tests.functional.test_indexing import found

    shop = ShopFactory()
    redis_queue.huey.storage.flush_all()  # start from an empty queue
    db.session.add(ProductFactory.build(name="Tidak Jadi", shop=shop))
    db.session.flush()  # outbox rows written in the transaction...
    db.session.rollback()  # ...and gone with it: nothing to do
    assert redis_queue.huey.pending_count() == 0
    kerak = ProductFactory(name="Kerak Telor", shop=shop)  # a commit: one drain waits
    ProductFactory(name="Bir Pletok", shop=shop)  # another: still one
    assert redis_queue.huey.pending_count() == 1
    # A worker takes it: the index catches up, and the next commit enqueues again.
    redis_queue.huey.execute(redis_queue.huey.dequeue())
    assert found("kerak telor") == {kerak.id}
    ProductFactory(name="Dodol", shop=shop)
    assert redis_queue.huey.pending_count() == 1


def test_every_row_that_means_work_names_a_model_and_a_task(app):
    # A renamed model would silently stop enqueueing its work (the sweep would still run).
    models = set(db.Model.registry._class_registry)
    for model, task in tasks._WORK_FOR.items():
        assert model in models and task in tasks.TASKS, (model, task)


def test_cooperative_bills_are_raised_and_reminded_on_their_own_schedules(app):
    when = {name: schedule for name, schedule in tasks.PERIODIC.items()}
    assert when["raise_member_bills"][1] == 3600 and when["remind_member_bills"][1] == 86400
    # The tasks run (nothing to bill or remind in an empty city) and say so.
    assert tasks.queue().tasks["raise_member_bills"].call_local() == 0
    assert tasks.queue().tasks["remind_member_bills"].call_local() == 0
