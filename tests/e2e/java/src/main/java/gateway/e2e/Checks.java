package gateway.e2e;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The checks ClientCheck and GroupCheck count: each prints "ok: ..." or "FAIL: ..." on its own line
 * (the Python side shows the FAIL lines), and the program's exit code says whether any failed.
 */
final class Checks {
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    static int failures = 0, passes = 0;

    private Checks() {}

    static void ok(String what) {
        passes++;
        System.out.println("ok: " + what);
    }

    static void fail(String what) {
        failures++;
        System.out.println("FAIL: " + what);
    }

    static boolean check(boolean cond, String what) {
        if (cond) ok(what);
        else fail(what);
        return cond;
    }

    static boolean checkEq(Object expected, Object actual, String what) {
        boolean same = expected == null ? actual == null : expected.equals(actual);
        if (same) ok(what + " = " + actual);
        else fail(what + ": expected " + expected + ", got " + actual);
        return same;
    }

    /** Waits for a future; on an exception records a failure and returns null. */
    static <T> T await(String what, Future<T> f) {
        try {
            T v = f.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            ok(what);
            return v;
        } catch (ExecutionException e) {
            fail(what + ": " + e.getCause());
        } catch (Exception e) {
            fail(what + ": " + e);
        }
        return null;
    }

    /** Expects the future to fail with the given exception type (what Kafka itself returns). */
    static void awaitError(String what, Future<?> f, Class<? extends Throwable> expected) {
        try {
            f.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            fail(what + ": succeeded, expected " + expected.getSimpleName());
        } catch (ExecutionException e) {
            if (expected.isInstance(e.getCause())) ok(what + " -> " + expected.getSimpleName());
            else fail(what + ": expected " + expected.getSimpleName() + ", got " + e.getCause());
        } catch (Exception e) {
            fail(what + ": " + e);
        }
    }
}
