/**
 * From the timeline's rendition records to the protocol-neutral tracks that the HLS and DASH
 * writers read, for the live origin and the harvester alike (segments: output-groups.ts).
 */
import type { OutputTrack } from '../media/timeline/model.js';
import type { RenditionRecord } from './ports.js';

export function outputTrack(r: RenditionRecord): OutputTrack {
  return {
    id: r.id,
    kind: r.kind,
    container: r.container,
    codecs: r.codecs,
    bandwidth: r.bandwidth,
    width: r.width,
    height: r.height,
    frameRate: r.frameRate,
    sampleRate: r.sampleRate,
    channels: r.channels,
    language: r.language,
    timescale: r.timescale,
  };
}
