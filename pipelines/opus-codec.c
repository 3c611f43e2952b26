/* amgw — Opus encoder and decoder elements on libopus's single-stream API.
 *
 * GStreamer's opusenc and opusdec (1.22) always use libopus's multistream
 * API, even for one mono stream, and Debian's libopus 1.3.1 then asks the CPU
 * for its features (cpuid) on every multistream encode and decode call.  In a
 * virtual machine each cpuid traps to the hypervisor: measured here, a 20-ms
 * frame at 8 kHz costs 35-39 us to decode through the multistream API and
 * 2.8 us through opus_decode(), 57-59 us to encode against 39-41 us with
 * opus_encode().  A transcoded call does both 50 times a second each way, and
 * most gateways run on virtual machines, so amgw has its own two elements
 * for what a call needs: one stream, mono or stereo, 20-ms frames.
 *
 *   amgwopusdec  audio/x-opus (channel-mapping-family 0, from rtpopusdepay)
 *                -> S16LE at 8, 12, 16, 24 or 48 kHz, whichever downstream
 *                   takes nearest to 48 kHz (libopus decodes to any of them,
 *                   so no resampler is needed after it); loss concealment
 *                   (the base class's plc property: a gap event becomes
 *                   opus_decode() with no data for the gap's duration)
 *   amgwopusenc  S16LE at one of those rates -> audio/x-opus; the
 *                properties relay.c and pipe-common.c set on opusenc
 *                (bitrate, complexity, inband-fec, packet-loss-percentage,
 *                audio-type voice or generic, frame-size in ms).
 *
 * A packet libopus refuses is dropped with a WARNING and no output: the
 * depayloader's next gap event conceals it.  Ogg's OpusHead and OpusTags
 * packets (never sent over RTP) are dropped.
 */
#include "pipe-common.h"

#include <string.h>

#include <gst/audio/gstaudiodecoder.h>
#include <gst/audio/gstaudioencoder.h>
#include <opus/opus.h>

#define GST_CAT_DEFAULT amgw_pipe_debug

#define OPUS_RATES "{ (int) 48000, (int) 24000, (int) 16000, (int) 12000, (int) 8000 }"
#define OPUS_MAX_FRAME_MS 120
#define OPUS_MAX_PACKET 1275

/* ---- decoder ---- */

typedef struct {
  GstAudioDecoder parent;
  OpusDecoder *dec;
  gint rate, channels;
} AmgwOpusDec;

typedef struct {
  GstAudioDecoderClass parent_class;
} AmgwOpusDecClass;

G_DEFINE_TYPE (AmgwOpusDec, amgw_opus_dec, GST_TYPE_AUDIO_DECODER)

static GstStaticPadTemplate dec_sink_template = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK,
    GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-opus, channel-mapping-family = (int) 0; "
        "audio/x-opus, channel-mapping-family = (int) 0, channels = (int) [ 1, 2 ]"));
static GstStaticPadTemplate dec_src_template = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC,
    GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-raw, format = (string) " GST_AUDIO_NE (S16)
        ", layout = (string) interleaved, rate = (int) " OPUS_RATES
        ", channels = (int) [ 1, 2 ]"));

static gboolean
dec_stop (GstAudioDecoder *base)
{
  AmgwOpusDec *self = (AmgwOpusDec *) base;

  g_clear_pointer (&self->dec, opus_decoder_destroy);
  return TRUE;
}

static gboolean
dec_set_format (GstAudioDecoder *base, GstCaps *caps)
{
  AmgwOpusDec *self = (AmgwOpusDec *) base;
  GstStructure *s = gst_caps_get_structure (caps, 0);
  g_autoptr (GstCaps) allowed = gst_pad_get_allowed_caps (GST_AUDIO_DECODER_SRC_PAD (base));
  gint rate = 48000, channels = 1, stream_channels = 1;
  GstAudioInfo info;
  int err;

  if (gst_structure_get_int (s, "channels", &stream_channels))
    stream_channels = CLAMP (stream_channels, 1, 2);
  channels = stream_channels;
  if (allowed != NULL && !gst_caps_is_empty (allowed)) {
    allowed = gst_caps_make_writable (gst_caps_truncate (g_steal_pointer (&allowed)));
    s = gst_caps_get_structure (allowed, 0);
    gst_structure_fixate_field_nearest_int (s, "rate", 48000);
    gst_structure_fixate_field_nearest_int (s, "channels", stream_channels);
    gst_structure_get_int (s, "rate", &rate);
    gst_structure_get_int (s, "channels", &channels);
  }
  if ((rate != 8000 && rate != 12000 && rate != 16000 && rate != 24000 && rate != 48000)
      || channels < 1 || channels > 2) {
    GST_WARNING_OBJECT (self, "downstream wants %d Hz, %d channels: not an Opus output", rate,
        channels);
    return FALSE;
  }
  if (self->dec == NULL || rate != self->rate || channels != self->channels) {
    g_clear_pointer (&self->dec, opus_decoder_destroy);
    self->dec = opus_decoder_create (rate, channels, &err);
    if (self->dec == NULL) {
      GST_WARNING_OBJECT (self, "libopus: %s", opus_strerror (err));
      return FALSE;
    }
    self->rate = rate;
    self->channels = channels;
  }
  GST_DEBUG_OBJECT (self, "decoding to %d Hz, %d channel(s)", rate, channels);
  gst_audio_info_init (&info);
  gst_audio_info_set_format (&info, GST_AUDIO_FORMAT_S16, rate, channels, NULL);
  return gst_audio_decoder_set_output_format (base, &info);
}

/* Any Opus stream decodes to the rate and channels downstream takes: the
 * base class's default would ask upstream for downstream's rate (48 kHz
 * from Ogg, say, against 8 kHz after us) and refuse the link. */
static GstCaps *
dec_getcaps (GstAudioDecoder *base, GstCaps *filter)
{
  GstCaps *caps = gst_pad_get_pad_template_caps (GST_AUDIO_DECODER_SINK_PAD (base));

  if (filter != NULL) {
    GstCaps *both = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);

    gst_caps_unref (caps);
    caps = both;
  }
  return caps;
}

static GstFlowReturn
dec_handle_frame (GstAudioDecoder *base, GstBuffer *in)
{
  AmgwOpusDec *self = (AmgwOpusDec *) base;
  gint max_samples = self->rate * OPUS_MAX_FRAME_MS / 1000, samples;
  GstBuffer *out;
  GstMapInfo in_map = GST_MAP_INFO_INIT, out_map;
  const guint8 *data = NULL;
  gsize size = 0;

  if (in == NULL)
    return GST_FLOW_OK;   /* drain: libopus holds nothing back */
  if (self->dec == NULL)
    return GST_FLOW_NOT_NEGOTIATED;

  if (gst_buffer_get_size (in) == 0) {
    /* A gap to conceal: as much as it lasts, in 2.5-ms steps, at most a
     * packet's worth. */
    GstClockTime duration = GST_BUFFER_DURATION (in);

    samples = GST_CLOCK_TIME_IS_VALID (duration) ?
        (gint) gst_util_uint64_scale (duration, self->rate, GST_SECOND) : self->rate / 50;
    samples = CLAMP (samples / (self->rate / 400) * (self->rate / 400), self->rate / 400,
        max_samples);
  } else {
    if (!gst_buffer_map (in, &in_map, GST_MAP_READ))
      return GST_FLOW_ERROR;
    data = in_map.data;
    size = in_map.size;
    if (size >= 8 && (memcmp (data, "OpusHead", 8) == 0 || memcmp (data, "OpusTags", 8) == 0)) {
      gst_buffer_unmap (in, &in_map);
      return gst_audio_decoder_finish_frame (base, NULL, 1);
    }
    samples = max_samples;
  }

  out = gst_buffer_new_allocate (NULL, (gsize) samples * self->channels * sizeof (opus_int16),
      NULL);
  gst_buffer_map (out, &out_map, GST_MAP_WRITE);
  samples = opus_decode (self->dec, data, (opus_int32) size, (opus_int16 *) out_map.data,
      samples, 0);
  gst_buffer_unmap (out, &out_map);
  if (in_map.memory != NULL)
    gst_buffer_unmap (in, &in_map);
  if (samples < 0) {
    GST_WARNING_OBJECT (self, "libopus refused a %" G_GSIZE_FORMAT "-byte packet: %s", size,
        opus_strerror (samples));
    gst_buffer_unref (out);
    return gst_audio_decoder_finish_frame (base, NULL, 1);
  }
  gst_buffer_set_size (out, (gsize) samples * self->channels * sizeof (opus_int16));
  return gst_audio_decoder_finish_frame (base, out, 1);
}

static void
amgw_opus_dec_init (AmgwOpusDec *self)
{
  gst_audio_decoder_set_plc_aware (GST_AUDIO_DECODER (self), TRUE);
  gst_audio_decoder_set_use_default_pad_acceptcaps (GST_AUDIO_DECODER (self), TRUE);
  GST_PAD_SET_ACCEPT_TEMPLATE (GST_AUDIO_DECODER_SINK_PAD (self));
}

static void
amgw_opus_dec_class_init (AmgwOpusDecClass *klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAudioDecoderClass *dec_class = GST_AUDIO_DECODER_CLASS (klass);

  gst_element_class_add_static_pad_template (element_class, &dec_sink_template);
  gst_element_class_add_static_pad_template (element_class, &dec_src_template);
  gst_element_class_set_static_metadata (element_class, "amgw Opus decoder",
      "Codec/Decoder/Audio", "One Opus stream with libopus's single-stream API", "amgw");
  dec_class->stop = dec_stop;
  dec_class->set_format = dec_set_format;
  dec_class->getcaps = dec_getcaps;
  dec_class->handle_frame = dec_handle_frame;
}

/* ---- encoder ---- */

enum {
  PROP_0,
  PROP_BITRATE,
  PROP_COMPLEXITY,
  PROP_INBAND_FEC,
  PROP_LOSS,
  PROP_AUDIO_TYPE,
  PROP_FRAME_SIZE,
};

typedef struct {
  GstAudioEncoder parent;
  OpusEncoder *enc;
  gint rate, channels, frame_samples;
  /* Properties (the object lock). */
  gint bitrate, complexity, loss, frame_ms;
  gboolean inband_fec, voice;
} AmgwOpusEnc;

typedef struct {
  GstAudioEncoderClass parent_class;
} AmgwOpusEncClass;

G_DEFINE_TYPE (AmgwOpusEnc, amgw_opus_enc, GST_TYPE_AUDIO_ENCODER)

static GstStaticPadTemplate enc_sink_template = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK,
    GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-raw, format = (string) " GST_AUDIO_NE (S16)
        ", layout = (string) interleaved, rate = (int) " OPUS_RATES
        ", channels = (int) [ 1, 2 ]"));
static GstStaticPadTemplate enc_src_template = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC,
    GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-opus, channel-mapping-family = (int) 0, "
        "channels = (int) [ 1, 2 ]"));

static gboolean
enc_stop (GstAudioEncoder *base)
{
  AmgwOpusEnc *self = (AmgwOpusEnc *) base;

  g_clear_pointer (&self->enc, opus_encoder_destroy);
  return TRUE;
}

static gboolean
enc_set_format (GstAudioEncoder *base, GstAudioInfo *info)
{
  AmgwOpusEnc *self = (AmgwOpusEnc *) base;
  g_autoptr (GstCaps) caps = NULL;
  gint bitrate, complexity, loss, frame_ms;
  gboolean fec, voice;
  int err;

  GST_OBJECT_LOCK (self);
  bitrate = self->bitrate;
  complexity = self->complexity;
  loss = self->loss;
  frame_ms = self->frame_ms;
  fec = self->inband_fec;
  voice = self->voice;
  GST_OBJECT_UNLOCK (self);

  g_clear_pointer (&self->enc, opus_encoder_destroy);
  self->rate = GST_AUDIO_INFO_RATE (info);
  self->channels = GST_AUDIO_INFO_CHANNELS (info);
  self->enc = opus_encoder_create (self->rate, self->channels,
      voice ? OPUS_APPLICATION_VOIP : OPUS_APPLICATION_AUDIO, &err);
  if (self->enc == NULL) {
    GST_WARNING_OBJECT (self, "libopus: %s", opus_strerror (err));
    return FALSE;
  }
  opus_encoder_ctl (self->enc, OPUS_SET_BITRATE (bitrate));
  opus_encoder_ctl (self->enc, OPUS_SET_COMPLEXITY (complexity));
  opus_encoder_ctl (self->enc, OPUS_SET_INBAND_FEC (fec ? 1 : 0));
  opus_encoder_ctl (self->enc, OPUS_SET_PACKET_LOSS_PERC (loss));
  opus_encoder_ctl (self->enc, OPUS_SET_SIGNAL (voice ? OPUS_SIGNAL_VOICE : OPUS_AUTO));
  self->frame_samples = self->rate * frame_ms / 1000;
  GST_DEBUG_OBJECT (self, "%d Hz, %d channel(s), %d ms frames, %d bit/s, complexity %d, "
      "fec %d at %d %% loss, %s", self->rate, self->channels, frame_ms, bitrate, complexity,
      fec, loss, voice ? "voice" : "generic");

  gst_audio_encoder_set_frame_samples_min (base, self->frame_samples);
  gst_audio_encoder_set_frame_samples_max (base, self->frame_samples);
  gst_audio_encoder_set_frame_max (base, 1);
  caps = gst_caps_new_simple ("audio/x-opus", "channel-mapping-family", G_TYPE_INT, 0,
      "channels", G_TYPE_INT, self->channels, "rate", G_TYPE_INT, self->rate, NULL);
  return gst_audio_encoder_set_output_format (base, caps);
}

static GstFlowReturn
enc_handle_frame (GstAudioEncoder *base, GstBuffer *in)
{
  AmgwOpusEnc *self = (AmgwOpusEnc *) base;
  gsize frame_bytes = (gsize) self->frame_samples * self->channels * sizeof (opus_int16);
  GstMapInfo in_map, out_map;
  GstBuffer *out;
  opus_int32 len;

  if (in == NULL)
    return GST_FLOW_OK;   /* drain: a partial frame is dropped */
  if (self->enc == NULL)
    return GST_FLOW_NOT_NEGOTIATED;
  if (!gst_buffer_map (in, &in_map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  out = gst_buffer_new_allocate (NULL, OPUS_MAX_PACKET, NULL);
  gst_buffer_map (out, &out_map, GST_MAP_WRITE);
  if (in_map.size >= frame_bytes) {
    len = opus_encode (self->enc, (const opus_int16 *) in_map.data, self->frame_samples,
        out_map.data, OPUS_MAX_PACKET);
  } else {
    /* Short (the last of a stream): padded with silence. */
    g_autofree opus_int16 *padded = g_malloc0 (frame_bytes);

    memcpy (padded, in_map.data, in_map.size);
    len = opus_encode (self->enc, padded, self->frame_samples, out_map.data, OPUS_MAX_PACKET);
  }
  gst_buffer_unmap (out, &out_map);
  gst_buffer_unmap (in, &in_map);
  if (len < 0) {
    GST_WARNING_OBJECT (self, "libopus cannot encode: %s", opus_strerror (len));
    gst_buffer_unref (out);
    return gst_audio_encoder_finish_frame (base, NULL, self->frame_samples);
  }
  gst_buffer_set_size (out, (gsize) len);
  return gst_audio_encoder_finish_frame (base, out, self->frame_samples);
}

static void
enc_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  AmgwOpusEnc *self = (AmgwOpusEnc *) object;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_BITRATE: self->bitrate = g_value_get_int (value); break;
    case PROP_COMPLEXITY: self->complexity = g_value_get_int (value); break;
    case PROP_INBAND_FEC: self->inband_fec = g_value_get_boolean (value); break;
    case PROP_LOSS: self->loss = g_value_get_int (value); break;
    case PROP_AUDIO_TYPE: self->voice = g_strcmp0 (g_value_get_string (value), "voice") == 0;
      break;
    case PROP_FRAME_SIZE: self->frame_ms = g_value_get_int (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
enc_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  AmgwOpusEnc *self = (AmgwOpusEnc *) object;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_BITRATE: g_value_set_int (value, self->bitrate); break;
    case PROP_COMPLEXITY: g_value_set_int (value, self->complexity); break;
    case PROP_INBAND_FEC: g_value_set_boolean (value, self->inband_fec); break;
    case PROP_LOSS: g_value_set_int (value, self->loss); break;
    case PROP_AUDIO_TYPE: g_value_set_string (value, self->voice ? "voice" : "generic"); break;
    case PROP_FRAME_SIZE: g_value_set_int (value, self->frame_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
amgw_opus_enc_init (AmgwOpusEnc *self)
{
  self->bitrate = 32000;
  self->complexity = 10;
  self->frame_ms = 20;
  self->voice = FALSE;
  gst_audio_encoder_set_hard_min (GST_AUDIO_ENCODER (self), TRUE);
}

static void
amgw_opus_enc_class_init (AmgwOpusEncClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAudioEncoderClass *enc_class = GST_AUDIO_ENCODER_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = enc_set_property;
  object_class->get_property = enc_get_property;
  g_object_class_install_property (object_class, PROP_BITRATE, g_param_spec_int ("bitrate",
          "Bitrate", "bit/s", 6000, 510000, 32000, rw));
  g_object_class_install_property (object_class, PROP_COMPLEXITY,
      g_param_spec_int ("complexity", "Complexity", "0-10", 0, 10, 10, rw));
  g_object_class_install_property (object_class, PROP_INBAND_FEC,
      g_param_spec_boolean ("inband-fec", "In-band FEC", "LBRR for the next packet's loss",
          FALSE, rw));
  g_object_class_install_property (object_class, PROP_LOSS,
      g_param_spec_int ("packet-loss-percentage", "Loss", "expected loss, %", 0, 100, 0, rw));
  g_object_class_install_property (object_class, PROP_AUDIO_TYPE,
      g_param_spec_string ("audio-type", "Audio type", "voice or generic", "generic", rw));
  g_object_class_install_property (object_class, PROP_FRAME_SIZE,
      g_param_spec_int ("frame-size", "Frame size", "ms: 10, 20, 40 or 60", 10, 60, 20, rw));

  gst_element_class_add_static_pad_template (element_class, &enc_sink_template);
  gst_element_class_add_static_pad_template (element_class, &enc_src_template);
  gst_element_class_set_static_metadata (element_class, "amgw Opus encoder",
      "Codec/Encoder/Audio", "One Opus stream with libopus's single-stream API", "amgw");
  enc_class->stop = enc_stop;
  enc_class->set_format = enc_set_format;
  enc_class->handle_frame = enc_handle_frame;
}

gboolean
amgw_pipe_register_opus (void)
{
  return gst_element_register (NULL, "amgwopusdec", GST_RANK_NONE, amgw_opus_dec_get_type ())
      && gst_element_register (NULL, "amgwopusenc", GST_RANK_NONE, amgw_opus_enc_get_type ());
}
