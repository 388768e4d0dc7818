// Smoke test of the generated Kotlin bindings on the JVM, against a real fieldsync-server.
// Run by ../../run-kotlin-tests.sh, which builds the library, generates the bindings, starts
// the server and sets FIELDSYNC_SERVER_URL and the passwords. Exits non-zero on any failure.

import java.nio.file.Files
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking
import uniffi.fieldsync_mobile.*

val server: String = System.getenv("FIELDSYNC_SERVER_URL") ?: error("FIELDSYNC_SERVER_URL is not set")
val repPassword: String = System.getenv("FIELDSYNC_REP_PASSWORD") ?: error("FIELDSYNC_REP_PASSWORD is not set")
const val REP = "li.wei"

fun check(condition: Boolean, what: () -> String) {
    if (!condition) throw AssertionError(what())
}

fun device(name: String): FieldsyncClient =
    FieldsyncClient.open(Files.createTempDirectory("fieldsync-kotlin-$name").toString(), "$name of $REP")

class Counter : SyncProgress {
    val calls = AtomicInteger()
    val lastToPush = AtomicLong(-1)
    val attachments = ConcurrentLinkedQueue<AttachmentProgressRecord>()
    override fun onProgress(rounds: UInt, pulled: Long, toPush: Long, more: Boolean) {
        calls.incrementAndGet()
        lastToPush.set(toPush)
    }
    override fun onAttachment(progress: AttachmentProgressRecord) {
        attachments.add(progress)
    }
}

/** Keeps the customers live mode said changed, and its errors. */
class Arrivals : LiveListener {
    val customers = LinkedBlockingQueue<String>()
    val errors = ConcurrentLinkedQueue<String>()
    override fun onChange(change: LiveChangeRecord) {
        change.changed.filter { it.kind == "customer" }.forEach { customers.addAll(it.ids) }
    }
    override fun onError(error: LiveErrorRecord) {
        errors.add("${error.kind}: ${error.reason}")
    }
}

fun wrongPasswordRaisesAuth() {
    device("phone").use { phone ->
        try {
            phone.login(server, REP, "not the password")
            throw AssertionError("a wrong password was accepted")
        } catch (e: FieldsyncException.Auth) {
            check(e.reason.isNotBlank()) { "the Auth error has no reason" }
        }
        check(phone.status().user == null) { "a failed login left a session" }
    }
}

fun invalidInputRaisesInvalid() {
    device("phone").use { phone ->
        phone.login(server, REP, repPassword)
        try {
            phone.createCustomer(NewCustomerRecord(name = "", territory = "east"))
            throw AssertionError("an empty name was accepted")
        } catch (e: FieldsyncException.Invalid) {
            check("name" in e.reason) { "the reason does not name the field: ${e.reason}" }
        }
        check(phone.status().unsent == 0L) { "a refused customer left a change to send" }
    }
}

fun recordOfflineSyncAndConverge() = runBlocking {
    device("phone").use { phone ->
        device("laptop").use { laptop ->
            phone.login(server, REP, repPassword)
            laptop.login(server, REP, repPassword)

            // Offline: nothing reaches the server before sync.
            val customer = phone.createCustomer(
                NewCustomerRecord(name = "杭州精工轴承有限公司", territory = "east", tier = "B"),
            )
            val visit = phone.recordVisit(
                NewVisitRecord(
                    customer = customer,
                    checkinAt = "2026-11-23T09:30:00+08:00",
                    utcOffsetMinutes = 480L,
                    summary = "kotlin: met the buyer, quote next week",
                    peopleMet = listOf(PersonMetRecord(name = "陈经理", title = "采购经理")),
                    outcome = "progress",
                ),
            )
            check(phone.status().unsent == 2L) { "expected 2 unsent documents, got ${phone.status().unsent}" }

            val progress = Counter()
            val pushed = phone.sync(progress)
            check(pushed.pushed >= 2L) { "the phone pushed ${pushed.pushed} documents" }
            check(progress.calls.get() >= 1) { "no progress callback arrived" }
            check(progress.lastToPush.get() == 0L) { "the last report left ${progress.lastToPush.get()} to push" }
            check(phone.status().unsent == 0L) { "the phone still has unsent documents" }

            laptop.sync(null)
            val seen = laptop.getVisit(visit)
            check(seen.summary == "kotlin: met the buyer, quote next week") { "the laptop sees '${seen.summary}'" }
            check(laptop.getCustomer(customer).tier == "B") { "the laptop does not see the tier" }

            laptop.updateVisit(visit, VisitUpdate(nextStep = "send the quote"))
            laptop.sync(null)
            phone.sync(null)
            check(phone.getVisit(visit).nextStep == "send the quote") { "the laptop's edit did not reach the phone" }
        }
    }
}

fun aVisitPhotoGoesUpAndComesBackOnAnotherDevice() = runBlocking {
    device("phone").use { phone ->
        device("laptop").use { laptop ->
            phone.login(server, REP, repPassword)
            laptop.login(server, REP, repPassword)
            val customer = phone.createCustomer(NewCustomerRecord(name = "杭州照片机电", territory = "east"))
            val visit = phone.recordVisit(NewVisitRecord(customer = customer, summary = "kotlin: shop front"))
            // A JPEG by its first bytes (SOI and a JFIF segment), then random bytes.
            val head = intArrayOf(0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01)
                .map { it.toByte() }.toByteArray()
            val photo = head + ByteArray(4096).also { java.util.Random().nextBytes(it) }
            val file = Files.createTempFile("fieldsync-kotlin-photo", ".jpg")
            Files.write(file, photo)
            val attached = phone.attachToVisit(visit, file.toString(), checkIn = true)
            check(attached.size == photo.size.toLong() && attached.mediaType == "image/jpeg") { "attached $attached" }
            check(phone.status().attachmentsPending == 1L) { "the photo is not pending" }

            val progress = Counter()
            val report = phone.sync(progress)
            check(report.attachments.uploaded == 1L) { "uploaded ${report.attachments}" }
            check(progress.attachments.any { it.direction == "upload" && it.done == it.size }) {
                "no finished upload was told: ${progress.attachments}"
            }
            check(phone.status().attachmentsPending == 0L) { "the photo is still pending" }

            laptop.sync(null)
            check(laptop.getVisit(visit).checkinPhoto == attached.id) { "the laptop does not see the check-in photo" }
            val path = laptop.fetchAttachment(attached.id)
            check(Files.readAllBytes(java.nio.file.Paths.get(path)).contentEquals(photo)) { "the bytes differ" }
            Files.delete(file)
        }
    }
}

fun liveModeBringsACustomerOverWithoutASync() {
    device("phone").use { phone ->
        device("laptop").use { laptop ->
            phone.login(server, REP, repPassword)
            laptop.login(server, REP, repPassword)
            val onLaptop = Arrivals()
            phone.startLive(Arrivals())
            laptop.startLive(onLaptop)
            try {
                val customer = phone.createCustomer(NewCustomerRecord(name = "杭州实时机电", territory = "east"))
                // The laptop's first round may bring earlier customers too: wait for this one.
                val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
                while (true) {
                    val left = deadline - System.nanoTime()
                    val id = onLaptop.customers.poll(maxOf(left, 0L), TimeUnit.NANOSECONDS)
                        ?: throw AssertionError("the laptop was not told within 10 s; errors: ${onLaptop.errors}")
                    if (id == customer) break
                }
                check(laptop.getCustomer(customer).name == "杭州实时机电") { "the laptop does not have the customer" }
            } finally {
                phone.stopLive()
                laptop.stopLive()
            }
            check(!laptop.isLive()) { "live mode still runs after stopLive" }
        }
    }
}

fun main() {
    val tests = listOf(
        "a wrong password raises FieldsyncException.Auth" to ::wrongPasswordRaisesAuth,
        "an empty customer name raises FieldsyncException.Invalid" to ::invalidInputRaisesInvalid,
        "phone and laptop record offline, sync and converge" to { recordOfflineSyncAndConverge() },
        "a visit photo goes up and comes back on another device" to { aVisitPhotoGoesUpAndComesBackOnAnotherDevice() },
        "live mode brings a customer to the other device without a sync" to ::liveModeBringsACustomerOverWithoutASync,
    )
    var failed = 0
    for ((name, test) in tests) {
        try {
            test()
            println("ok      $name")
        } catch (e: Throwable) {
            failed += 1
            println("FAILED  $name: $e")
        }
    }
    println("${tests.size - failed} passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
