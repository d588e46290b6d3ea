/**
 * From the timeline's records to the protocol-neutral output model that the HLS and DASH writers
 * read, for the live origin and the harvester alike.
 */
import { initIdOf } from '../media/output-naming.js';
import type { OutputSegment, OutputTrack } from '../media/timeline/model.js';
import type { RenditionRecord, SegmentRecord } from './ports.js';

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

export function outputSegment(s: SegmentRecord): OutputSegment {
  return {
    seq: s.seq,
    startMs: s.startMs,
    durationMs: s.durationMs,
    mediaTime: s.mediaTime,
    mediaDuration: s.mediaDuration,
    discontinuity: s.discontinuity,
    discSeq: s.discSeq,
    initId: initIdOf(s.initKey),
  };
}
