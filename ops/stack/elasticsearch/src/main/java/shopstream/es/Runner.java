package shopstream.es;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.ClasspathPluginNode;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs one real Elasticsearch 8.14.3 node in the foreground, built purely from Maven Central jars.
 *
 * <pre>
 * java [jvm flags] -cp 'LIBDIR/*' shopstream.es.Runner HOME [HTTP_PORT] [--transport-port PORT] [-Ekey=value ...]
 * </pre>
 *
 * HOME gets config/, data/, logs/ and empty modules/ and plugins/ folders. The node binds to
 * 127.0.0.1 only, runs until SIGTERM/SIGINT and then closes cleanly.
 */
public final class Runner {

    static final String CLUSTER_NAME = "shopstream";
    static final String NODE_NAME = "shopstream-es";

    /** Plugins loaded from the class path (the distribution's modules are not on Maven Central). */
    static final List<Class<? extends Plugin>> PLUGINS = List.of(Netty4Plugin.class, RootInfoPlugin.class);

    private Runner() {}

    public static void main(String[] argv) {
        // same defaults as the Elasticsearch launcher, unless given with -D
        defaultProperty("log4j.shutdownHookEnabled", "false");
        defaultProperty("log4j2.disable.jmx", "true");
        defaultProperty("log4j2.formatMsgNoLookups", "true");
        defaultProperty("io.netty.noUnsafe", "true");
        defaultProperty("io.netty.noKeySetOptimization", "true");
        defaultProperty("io.netty.recycler.maxCapacityPerThread", "0");
        defaultProperty("jna.nosys", "true");
        // what GET / reports as version.build_type (a real archive install says "tar")
        defaultProperty("es.distribution.type", "tar");

        final long startNanos = System.nanoTime();
        Path home = null;
        String httpPort = "9200";
        boolean httpPortGiven = false;
        String transportPort = "9300-9399";
        List<String> overrides = new ArrayList<>();
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("-h") || a.equals("--help")) {
                usage(0);
            } else if (a.equals("--transport-port") && i + 1 < argv.length) {
                transportPort = argv[++i];
            } else if (a.startsWith("--transport-port=")) {
                transportPort = a.substring("--transport-port=".length());
            } else if (a.startsWith("-E") && a.indexOf('=') > 2) {
                overrides.add(a.substring(2));
            } else if (a.startsWith("-")) {
                System.err.println("unknown option: " + a);
                usage(2);
            } else if (home == null) {
                home = Path.of(a);
            } else if (httpPortGiven == false && a.matches("\\d+")) {
                httpPort = a;
                httpPortGiven = true;
            } else {
                System.err.println("unexpected argument: " + a);
                usage(2);
            }
        }
        if (home == null) {
            usage(2);
        }
        home = home.toAbsolutePath().normalize();

        final Node node;
        final Logger logger;
        try {
            node = createNode(home, httpPort, transportPort, overrides);
            logger = LogManager.getLogger(Runner.class);
        } catch (Throwable t) {
            System.err.println("shopstream-es: failed to create the node");
            t.printStackTrace();
            System.exit(1);
            return;
        }

        final CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            logger.info("shutdown requested, closing node");
            try {
                closeNode(node);
                logger.info("node closed");
            } catch (Throwable t) {
                logger.error("error while closing node", t);
            } finally {
                closed.countDown();
                Configurator.shutdown((LoggerContext) LogManager.getContext(false));
            }
        }, "shopstream-es-shutdown"));

        try {
            node.start();
        } catch (Throwable t) {
            logger.error("failed to start node", t);
            System.exit(1);
            return;
        }
        logger.info(
            "shopstream-es ready: http://127.0.0.1:{}/ cluster [{}] home [{}] in {} ms",
            httpPort,
            CLUSTER_NAME,
            home,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos)
        );

        // keep the (non-daemon) main thread alive until the shutdown hook has closed the node
        try {
            closed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Lays out HOME, configures logging and constructs (but does not start) the node. */
    static Node createNode(Path home, String httpPort, String transportPort, List<String> overrides) throws IOException {
        Path config = home.resolve("config");
        for (String dir : List.of("config", "data", "logs", "modules", "plugins")) {
            Files.createDirectories(home.resolve(dir));
        }
        try (InputStream in = Runner.class.getResourceAsStream("log4j2.properties")) {
            Files.copy(in, config.resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
        }

        Settings.Builder settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", CLUSTER_NAME)
            .put("node.name", NODE_NAME)
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("http.type", Netty4Plugin.NETTY_HTTP_TRANSPORT_NAME)
            .put("transport.type", Netty4Plugin.NETTY_TRANSPORT_NAME)
            // the local disk may be fairly full: never block allocation or writes because of it
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.destructive_requires_name", false);
        for (String kv : overrides) {
            int eq = kv.indexOf('=');
            settings.put(kv.substring(0, eq), kv.substring(eq + 1));
        }

        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings.build(), Map.of(), config, () -> NODE_NAME);
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
        LogConfigurator.configure(environment, true);
        return new ClasspathPluginNode(environment, PLUGINS);
    }

    static void closeNode(Node node) throws IOException, InterruptedException {
        node.prepareForClose();
        node.close();
        if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
            LogManager.getLogger(Runner.class).warn("node did not close within 20s");
        }
    }

    private static void defaultProperty(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private static void usage(int code) {
        System.err.println(
            "usage: java [jvm flags] -cp 'LIBDIR/*' shopstream.es.Runner HOME [HTTP_PORT=9200] "
                + "[--transport-port PORT|RANGE (default 9300-9399)] [-Ekey=value ...]"
        );
        System.exit(code);
    }
}
