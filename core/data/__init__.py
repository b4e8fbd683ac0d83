"""Image data: names -> sources (built-in, folder, npz, Keras, TFRecord), decoding, tf.data."""
