package dev.llmstreams.observability;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.state.QueryableStoreType;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;

/**
 * Gauge {@code llmstreams.store.entries{store, pattern}}: the entries of each state store of a
 * pattern held by this instance's active tasks (standbys not counted, so the sum over instances is
 * the store's size).
 *
 * <p>Counted by scanning the store through interactive queries, up to {@link #MAX_SCAN} entries:
 * RocksDB's own estimate ({@code approximateNumEntries}) counts every write still in a memtable,
 * overwrites and deletes included, so it grows with traffic on a store of constant size. Beyond the
 * cap, and for global stores (their values are whole models, too costly to read on each scrape),
 * the gauge reports that estimate. A count is reused for {@link #MIN_INTERVAL_MS} so that several
 * scrapers do not rescan. While the store cannot be read (the instance is not running, a rebalance
 * moves it) the gauge reads NaN; it never throws.
 */
public final class StoreEntries {
  public static final String METER = "llmstreams.store.entries";
  static final long MAX_SCAN = 100_000;
  static final long MIN_INTERVAL_MS = 1_000;

  private StoreEntries() {}

  /** Registers one gauge per state store of {@code topology} (global stores included). */
  public static void register(
      MeterRegistry registry, KafkaStreams streams, String pattern, TopologyDescription topology) {
    Set<String> global = globalStores(topology);
    localStores(topology)
        .forEach(store -> gauge(registry, pattern, store, new Counter(streams, store, false)));
    global.forEach(store -> gauge(registry, pattern, store, new Counter(streams, store, true)));
  }

  /** The names of the topology's global stores. */
  static Set<String> globalStores(TopologyDescription topology) {
    Set<String> global = new LinkedHashSet<>();
    topology.globalStores().forEach(g -> global.addAll(g.processor().stores()));
    return global;
  }

  /**
   * The names of the topology's task-local stores (every store a processor uses that is not
   * global).
   */
  static Set<String> localStores(TopologyDescription topology) {
    Set<String> local = new LinkedHashSet<>();
    for (TopologyDescription.Subtopology sub : topology.subtopologies()) {
      for (TopologyDescription.Node node : sub.nodes()) {
        if (node instanceof TopologyDescription.Processor p) {
          local.addAll(p.stores());
        }
      }
    }
    local.removeAll(globalStores(topology));
    return local;
  }

  private static void gauge(MeterRegistry registry, String pattern, String store, Counter counter) {
    Gauge.builder(METER, counter, Counter::value)
        .description(
            "Entries in a state store on this instance's active"
                + " tasks: exact up to 100,000, RocksDB's estimate beyond and for global stores; NaN while unreadable")
        .tag("store", store)
        .tag("pattern", pattern)
        .strongReference(true)
        .register(registry);
  }

  /** Counts one store; remembers which query type it answers to and the latest count. */
  static final class Counter {
    private final KafkaStreams streams;
    private final String store;
    private final boolean estimateOnly;
    private LongSupplier reader;
    private double last = Double.NaN;
    private long lastAtMs = Long.MIN_VALUE;

    Counter(KafkaStreams streams, String store, boolean estimateOnly) {
      this.streams = streams;
      this.store = store;
      this.estimateOnly = estimateOnly;
    }

    synchronized double value() {
      long now = System.currentTimeMillis();
      if (lastAtMs != Long.MIN_VALUE && now - lastAtMs < MIN_INTERVAL_MS) {
        return last;
      }
      try {
        KafkaStreams.State state = streams.state();
        last =
            state == KafkaStreams.State.RUNNING || state == KafkaStreams.State.REBALANCING
                ? reader().getAsLong()
                : Double.NaN;
      } catch (RuntimeException e) {
        last =
            Double.NaN; // not queryable right now (starting, migrating, closing): the next scrape
        // tries again
      }
      lastAtMs = now;
      return last;
    }

    private LongSupplier reader() {
      if (reader != null) {
        return reader;
      }
      // The topology does not say a store's type: ask for each until one is accepted (a mismatch
      // throws).
      List<Function<String, LongSupplier>> kinds = List.of(this::keyValue, this::window);
      RuntimeException last = null;
      for (Function<String, LongSupplier> kind : kinds) {
        try {
          LongSupplier r = kind.apply(store);
          long ignored = r.getAsLong(); // proves the type before it is remembered
          reader = r;
          return r;
        } catch (RuntimeException e) {
          last = e;
        }
      }
      throw last;
    }

    private <T> T query(QueryableStoreType<T> type) {
      return streams.store(StoreQueryParameters.fromNameAndType(store, type));
    }

    private LongSupplier keyValue(String name) {
      QueryableStoreType<ReadOnlyKeyValueStore<Object, Object>> type =
          QueryableStoreTypes.keyValueStore();
      query(type);
      return () -> {
        ReadOnlyKeyValueStore<Object, Object> kv = query(type);
        if (estimateOnly) {
          return kv.approximateNumEntries();
        }
        try (var it = kv.all()) {
          long n = countUpTo(it);
          return n < MAX_SCAN ? n : Math.max(n, kv.approximateNumEntries());
        }
      };
    }

    private LongSupplier window(String name) {
      QueryableStoreType<ReadOnlyWindowStore<Object, Object>> type =
          QueryableStoreTypes.windowStore();
      query(type);
      return () -> {
        try (var it = query(type).all()) {
          return countUpTo(
              it); // no estimate for window stores: a count past the cap reads as the cap
        }
      };
    }

    private static long countUpTo(Iterator<?> it) {
      long n = 0;
      while (n < MAX_SCAN && it.hasNext()) {
        it.next();
        n++;
      }
      return n;
    }
  }
}
