/**
 * Applies a parsed manifest filter (FilterConfiguration.ManifestFilter or aws.manifestfilter) to
 * output tracks: a track stays when every key that concerns its kind accepts it (DATAPLANE.md §3.1).
 */
import type { FilterValue, ManifestFilter } from './manifest-filter.js';
import type { OutputTrack } from './timeline/model.js';

function accepts(values: readonly FilterValue[], actual: number | string | undefined): boolean {
  if (actual === undefined) return true;
  return values.some((v) => {
    if (v.kind === 'range') return typeof actual === 'number' && actual >= v.min && actual <= v.max;
    if (typeof actual === 'number') return Math.abs(Number(v.value) - actual) < 0.0005;
    return v.value === actual.toLowerCase();
  });
}

function videoCodec(codecs: string): string | undefined {
  if (/(^|,)(avc1|avc3)/.test(codecs)) return 'h264';
  if (/(^|,)(hvc1|hev1)/.test(codecs)) return 'h265';
  if (/(^|,)av01/.test(codecs)) return 'av1';
  return undefined;
}

function audioCodec(codecs: string): string | undefined {
  if (/mp4a\.40\.(5|29)/.test(codecs)) return 'aach';
  if (/mp4a\.40/.test(codecs)) return 'aacl';
  if (/ac-3/.test(codecs)) return 'ac-3';
  if (/ec-3/.test(codecs)) return 'ec-3';
  return undefined;
}

export function matchesFilter(t: OutputTrack, filter: ManifestFilter): boolean {
  const isVideo = t.kind !== 'audio';
  const isAudio = t.kind !== 'video';
  const facts: Record<string, { applies: boolean; value: number | string | undefined }> = {
    video_bitrate: { applies: isVideo, value: t.bandwidth },
    video_height: { applies: isVideo, value: t.height },
    video_framerate: { applies: isVideo, value: t.frameRate },
    video_codec: { applies: isVideo, value: videoCodec(t.codecs) },
    audio_bitrate: { applies: t.kind === 'audio', value: t.bandwidth },
    audio_sample_rate: { applies: isAudio, value: t.sampleRate },
    audio_channels: { applies: isAudio, value: t.channels },
    audio_language: { applies: isAudio, value: t.language },
    audio_codec: { applies: isAudio, value: audioCodec(t.codecs) },
  };
  for (const [key, values] of filter) {
    const fact = facts[key];
    if (fact && fact.applies && !accepts(values, fact.value)) return false;
  }
  return true;
}
