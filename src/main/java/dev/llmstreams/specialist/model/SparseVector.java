package dev.llmstreams.specialist.model;

/**
 * Feature indices (ascending, distinct) and their values; a dense vector is the one with every
 * index.
 */
record SparseVector(int[] indices, float[] values) {

  static SparseVector dense(float[] values) {
    int[] indices = new int[values.length];
    for (int i = 0; i < indices.length; i++) {
      indices[i] = i;
    }
    return new SparseVector(indices, values);
  }

  /** Dot product of two vectors with ascending indices. */
  double dot(SparseVector other) {
    int[] a = indices;
    int[] b = other.indices;
    double s = 0;
    int i = 0;
    int j = 0;
    while (i < a.length && j < b.length) {
      if (a[i] == b[j]) {
        s += (double) values[i++] * other.values[j++];
      } else if (a[i] < b[j]) {
        i++;
      } else {
        j++;
      }
    }
    return s;
  }

  double norm() {
    double s = 0;
    for (float v : values) {
      s += (double) v * v;
    }
    return Math.sqrt(s);
  }
}
