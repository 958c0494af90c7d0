package gateway.e2e;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * What ClientCheck and GroupCheck share: their command line (SUBCOMMAND --name value ...), and the checks they count: each prints "ok: ..." or "FAIL: ..." on its own line
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

    /** --name value options after the subcommand. */
    static final class Args {
        final Map<String, String> opts = new HashMap<>();

        Args(String[] argv, int from) {
            for (int i = from; i < argv.length; i++) {
                if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new IllegalArgumentException("bad argument " + argv[i]);
                opts.put(argv[i].substring(2), argv[++i]);
            }
        }

        String get(String name) {
            String v = opts.get(name);
            if (v == null) throw new IllegalArgumentException("missing --" + name);
            return v;
        }

        String get(String name, String dflt) {
            return opts.getOrDefault(name, dflt);
        }

        int getInt(String name, int dflt) {
            return Integer.parseInt(get(name, String.valueOf(dflt)));
        }
    }

    interface Subcommand {
        void run(Args a) throws Exception;
    }

    /** Runs argv[0] among `subcommands`, prints the tally and exits: 0 when every check passed, 1 when
     *  one failed (or the subcommand threw), 2 on a usage error. */
    static void main(String usage, String[] argv, Map<String, Subcommand> subcommands) {
        if (argv.length < 1) {
            System.err.println("usage: " + usage);
            System.exit(2);
        }
        try {
            Args a = new Args(argv, 1);
            Subcommand s = subcommands.get(argv[0]);
            if (s == null) throw new IllegalArgumentException("unknown subcommand " + argv[0]);
            s.run(a);
        } catch (IllegalArgumentException e) {
            System.err.println("usage error: " + e.getMessage());
            System.exit(2);
        } catch (Throwable t) {
            fail(argv[0] + ": unexpected " + t);
            t.printStackTrace();
        }
        System.out.println(failures == 0 ? "all " + passes + " checks passed"
                                         : failures + " of " + (passes + failures) + " checks FAILED");
        System.out.flush();
        System.exit(failures == 0 ? 0 : 1);
    }
}
