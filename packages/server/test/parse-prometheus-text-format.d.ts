// The test's Prometheus text-format parser ships no types: what the tests use of it.
declare module 'parse-prometheus-text-format' {
  /** Parses the Prometheus text format into metric families (prom2json's shape: values as strings). */
  export default function parsePrometheusTextFormat(text: string): unknown[]
}
