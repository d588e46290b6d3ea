/**
 * Where the slice header of an H.264 or H.265 slice NAL unit ends, which `cbcs` encryption needs:
 * ISO/IEC 23001-7 keeps the slice header clear and starts the protected range at the first byte
 * after it. Finding that byte means parsing the header (ITU-T H.264 §7.3.3, H.265 §7.3.6.1), which
 * depends on fields of the SPS and PPS the slice refers to; those come from the decoder
 * configuration record (avcC/hvcC) and from parameter sets carried in the samples.
 *
 * Input is untrusted: every read is bounded by the NAL unit, and anything malformed or outside
 * what is supported (H.264 slice groups, H.265 multi-layer/3D/SCC extensions) throws
 * MediaParseError with a one-line reason.
 */
import { BitReader, MediaParseError, skipHevcSubLayers } from '../container/isobmff.js';

type Codec = 'avc' | 'hevc';

/** The RBSP of a NAL unit (emulation prevention bytes removed) and where they were. */
function unescape(nal: Uint8Array): { rbsp: Uint8Array; removed: number[] } {
  const rbsp = new Uint8Array(nal.length);
  const removed: number[] = []; // RBSP index at which each removed byte would have been
  let n = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      removed.push(n);
      zeros = 0;
      continue;
    }
    rbsp[n++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return { rbsp: rbsp.subarray(0, n), removed };
}

const ceilLog2 = (x: number): number => (x <= 1 ? 0 : Math.ceil(Math.log2(x)));

// ---------------------------------------------------------------------------------------------
// H.264

interface AvcSps {
  chromaArrayType: number;
  separateColourPlane: boolean;
  log2MaxFrameNum: number;
  pocType: number;
  log2MaxPocLsb: number;
  deltaPicOrderAlwaysZero: boolean;
  frameMbsOnly: boolean;
}

interface AvcPps {
  spsId: number;
  cabac: boolean;
  bottomFieldPicOrderInFramePresent: boolean;
  refIdxL0Default: number;
  refIdxL1Default: number;
  weightedPred: boolean;
  weightedBipredIdc: number;
  deblockingFilterControlPresent: boolean;
  redundantPicCntPresent: boolean;
}

const AVC_HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipAvcScalingList(bits: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + bits.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

function readAvcSps(rbsp: Uint8Array): { id: number; sps: AvcSps } {
  const bits = new BitReader(rbsp, 1);
  const profileIdc = bits.u(8);
  bits.skip(16); // constraint flags, level_idc
  const id = bits.ue();
  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  if (AVC_HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = bits.ue();
    if (chromaFormatIdc === 3) separateColourPlane = bits.u(1) === 1;
    bits.ue();
    bits.ue();
    bits.skip(1);
    if (bits.u(1)) for (let i = 0; i < (chromaFormatIdc === 3 ? 12 : 8); i++) if (bits.u(1)) skipAvcScalingList(bits, i < 6 ? 16 : 64);
  }
  const log2MaxFrameNum = bits.ue() + 4;
  const pocType = bits.ue();
  let log2MaxPocLsb = 0;
  let deltaPicOrderAlwaysZero = false;
  if (pocType === 0) log2MaxPocLsb = bits.ue() + 4;
  else if (pocType === 1) {
    deltaPicOrderAlwaysZero = bits.u(1) === 1;
    bits.se();
    bits.se();
    const cycle = bits.ue();
    if (cycle > 255) throw new MediaParseError('H.264 SPS: num_ref_frames_in_pic_order_cnt_cycle above 255');
    for (let i = 0; i < cycle; i++) bits.se();
  }
  bits.ue(); // max_num_ref_frames
  bits.skip(1);
  bits.ue();
  bits.ue();
  const frameMbsOnly = bits.u(1) === 1;
  if (log2MaxFrameNum > 16 || log2MaxPocLsb > 16) throw new MediaParseError('H.264 SPS: frame_num or POC field wider than 16 bits');
  return { id, sps: { chromaArrayType: separateColourPlane ? 0 : chromaFormatIdc, separateColourPlane, log2MaxFrameNum, pocType, log2MaxPocLsb, deltaPicOrderAlwaysZero, frameMbsOnly } };
}

function readAvcPps(rbsp: Uint8Array): { id: number; pps: AvcPps } {
  const bits = new BitReader(rbsp, 1);
  const id = bits.ue();
  const spsId = bits.ue();
  const cabac = bits.u(1) === 1;
  const bottomFieldPicOrderInFramePresent = bits.u(1) === 1;
  if (bits.ue() !== 0) throw new MediaParseError('H.264 PPS uses slice groups (FMO), which cbcs encryption does not support');
  const refIdxL0Default = bits.ue() + 1;
  const refIdxL1Default = bits.ue() + 1;
  const weightedPred = bits.u(1) === 1;
  const weightedBipredIdc = bits.u(2);
  bits.se();
  bits.se();
  bits.se();
  const deblockingFilterControlPresent = bits.u(1) === 1;
  bits.skip(1);
  const redundantPicCntPresent = bits.u(1) === 1;
  if (refIdxL0Default > 32 || refIdxL1Default > 32) throw new MediaParseError('H.264 PPS: more than 32 default reference indices');
  return { id, pps: { spsId, cabac, bottomFieldPicOrderInFramePresent, refIdxL0Default, refIdxL1Default, weightedPred, weightedBipredIdc, deblockingFilterControlPresent, redundantPicCntPresent } };
}

function avcSliceHeaderBits(rbsp: Uint8Array, sets: ParameterSets): number {
  const nalRefIdc = (rbsp[0]! >> 5) & 3;
  const idr = (rbsp[0]! & 0x1f) === 5;
  const bits = new BitReader(rbsp, 1);
  bits.ue(); // first_mb_in_slice
  const sliceType = bits.ue() % 5;
  const P = 0;
  const B = 1;
  const I = 2;
  const SP = 3;
  const SI = 4;
  const ppsId = bits.ue();
  const pps = sets.avcPps.get(ppsId);
  if (pps === undefined) throw new MediaParseError(`H.264 slice refers to PPS ${ppsId}, which no parameter set defines`);
  const sps = sets.avcSps.get(pps.spsId);
  if (sps === undefined) throw new MediaParseError(`H.264 PPS ${ppsId} refers to SPS ${pps.spsId}, which no parameter set defines`);
  if (sps.separateColourPlane) bits.skip(2);
  bits.skip(sps.log2MaxFrameNum);
  let field = false;
  if (!sps.frameMbsOnly) {
    field = bits.u(1) === 1;
    if (field) bits.skip(1);
  }
  if (idr) bits.ue();
  if (sps.pocType === 0) {
    bits.skip(sps.log2MaxPocLsb);
    if (pps.bottomFieldPicOrderInFramePresent && !field) bits.se();
  }
  if (sps.pocType === 1 && !sps.deltaPicOrderAlwaysZero) {
    bits.se();
    if (pps.bottomFieldPicOrderInFramePresent && !field) bits.se();
  }
  if (pps.redundantPicCntPresent) bits.ue();
  if (sliceType === B) bits.skip(1);
  let l0 = field ? 2 * pps.refIdxL0Default : pps.refIdxL0Default;
  let l1 = field ? 2 * pps.refIdxL1Default : pps.refIdxL1Default;
  if (sliceType === P || sliceType === SP || sliceType === B) {
    if (bits.u(1)) {
      l0 = bits.ue() + 1;
      if (sliceType === B) l1 = bits.ue() + 1;
    }
    if (l0 > 32 || l1 > 32) throw new MediaParseError('H.264 slice: more than 32 active reference indices');
  }
  // ref_pic_list_modification (§7.3.3.1)
  const modification = () => {
    if (!bits.u(1)) return;
    for (let n = 0; ; n++) {
      if (n > 66) throw new MediaParseError('H.264 slice: reference list modification does not end');
      const idc = bits.ue();
      if (idc === 3) break;
      if (idc > 5) throw new MediaParseError(`H.264 slice: modification_of_pic_nums_idc ${idc}`);
      bits.ue();
    }
  };
  if (sliceType !== I && sliceType !== SI) modification();
  if (sliceType === B) modification();
  // pred_weight_table (§7.3.3.2)
  if ((pps.weightedPred && (sliceType === P || sliceType === SP)) || (pps.weightedBipredIdc === 1 && sliceType === B)) {
    bits.ue();
    if (sps.chromaArrayType !== 0) bits.ue();
    const list = (count: number) => {
      for (let i = 0; i < count; i++) {
        if (bits.u(1)) {
          bits.se();
          bits.se();
        }
        if (sps.chromaArrayType !== 0 && bits.u(1)) for (let j = 0; j < 4; j++) bits.se();
      }
    };
    list(l0);
    if (sliceType === B) list(l1);
  }
  // dec_ref_pic_marking (§7.3.3.3)
  if (nalRefIdc !== 0) {
    if (idr) bits.skip(2);
    else if (bits.u(1)) {
      for (let n = 0; ; n++) {
        if (n > 100) throw new MediaParseError('H.264 slice: memory management operations do not end');
        const op = bits.ue();
        if (op === 0) break;
        if (op > 6) throw new MediaParseError(`H.264 slice: memory_management_control_operation ${op}`);
        if (op === 1 || op === 3) bits.ue();
        if (op === 2) bits.ue();
        if (op === 3 || op === 6) bits.ue();
        if (op === 4) bits.ue();
      }
    }
  }
  if (pps.cabac && sliceType !== I && sliceType !== SI) bits.ue();
  bits.se(); // slice_qp_delta
  if (sliceType === SP || sliceType === SI) {
    if (sliceType === SP) bits.skip(1);
    bits.se();
  }
  if (pps.deblockingFilterControlPresent && bits.ue() !== 1) {
    bits.se();
    bits.se();
  }
  return bits.bitPosition;
}

// ---------------------------------------------------------------------------------------------
// H.265

interface StRps {
  /** DeltaPocS0 (negative, closest first) and DeltaPocS1, with UsedByCurrPic flags. */
  s0: number[];
  used0: boolean[];
  s1: number[];
  used1: boolean[];
}

interface HevcSps {
  chromaArrayType: number;
  separateColourPlane: boolean;
  picSizeInCtbs: number;
  log2MaxPocLsb: number;
  sao: boolean;
  rps: StRps[];
  longTermPresent: boolean;
  ltUsedSps: boolean[];
  temporalMvp: boolean;
}

interface HevcPps {
  spsId: number;
  dependentSliceSegments: boolean;
  outputFlagPresent: boolean;
  extraSliceHeaderBits: number;
  cabacInitPresent: boolean;
  refIdxL0Default: number;
  refIdxL1Default: number;
  sliceChromaQpOffsetsPresent: boolean;
  weightedPred: boolean;
  weightedBipred: boolean;
  tilesOrWpp: boolean;
  loopFilterAcrossSlices: boolean;
  deblockingOverrideEnabled: boolean;
  deblockingDisabled: boolean;
  listsModificationPresent: boolean;
  sliceHeaderExtensionPresent: boolean;
  chromaQpOffsetListEnabled: boolean;
}

function skipHevcScalingListData(bits: BitReader): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if (!bits.u(1)) {
        bits.ue();
      } else {
        const coefNum = Math.min(64, 1 << (4 + (sizeId << 1)));
        if (sizeId > 1) bits.se();
        for (let i = 0; i < coefNum; i++) bits.se();
      }
    }
  }
}

/** st_ref_pic_set(idx) (§7.3.7) with the derivation of §7.4.8. */
function readStRps(bits: BitReader, idx: number, sets: readonly StRps[], count: number): StRps {
  if (idx !== 0 && bits.u(1)) {
    const deltaIdx = idx === count ? bits.ue() + 1 : 1;
    const ref = sets[idx - deltaIdx];
    if (ref === undefined) throw new MediaParseError('H.265 short-term RPS predicted from one that does not exist');
    const sign = bits.u(1);
    const deltaRps = (1 - 2 * sign) * (bits.ue() + 1);
    const n = ref.s0.length + ref.s1.length;
    const usedBy: boolean[] = [];
    const useDelta: boolean[] = [];
    for (let j = 0; j <= n; j++) {
      const used = bits.u(1) === 1;
      usedBy.push(used);
      useDelta.push(used ? true : bits.u(1) === 1);
    }
    const out: StRps = { s0: [], used0: [], s1: [], used1: [] };
    const add = (pocs: number[], used: boolean[], poc: number, isUsed: boolean) => {
      pocs.push(poc);
      used.push(isUsed);
    };
    const n0 = ref.s0.length;
    // (7-61): negative pictures
    for (let j = ref.s1.length - 1; j >= 0; j--) {
      const d = ref.s1[j]! + deltaRps;
      if (d < 0 && useDelta[n0 + j]) add(out.s0, out.used0, d, usedBy[n0 + j]!);
    }
    if (deltaRps < 0 && useDelta[n]) add(out.s0, out.used0, deltaRps, usedBy[n]!);
    for (let j = 0; j < n0; j++) {
      const d = ref.s0[j]! + deltaRps;
      if (d < 0 && useDelta[j]) add(out.s0, out.used0, d, usedBy[j]!);
    }
    // (7-62): positive pictures
    for (let j = n0 - 1; j >= 0; j--) {
      const d = ref.s0[j]! + deltaRps;
      if (d > 0 && useDelta[j]) add(out.s1, out.used1, d, usedBy[j]!);
    }
    if (deltaRps > 0 && useDelta[n]) add(out.s1, out.used1, deltaRps, usedBy[n]!);
    for (let j = 0; j < ref.s1.length; j++) {
      const d = ref.s1[j]! + deltaRps;
      if (d > 0 && useDelta[n0 + j]) add(out.s1, out.used1, d, usedBy[n0 + j]!);
    }
    if (out.s0.length + out.s1.length > 32) throw new MediaParseError('H.265 short-term RPS with more than 32 pictures');
    return out;
  }
  const negatives = bits.ue();
  const positives = bits.ue();
  if (negatives > 16 || positives > 16) throw new MediaParseError('H.265 short-term RPS with more than 16 pictures in a direction');
  const out: StRps = { s0: [], used0: [], s1: [], used1: [] };
  let poc = 0;
  for (let i = 0; i < negatives; i++) {
    poc -= bits.ue() + 1;
    out.s0.push(poc);
    out.used0.push(bits.u(1) === 1);
  }
  poc = 0;
  for (let i = 0; i < positives; i++) {
    poc += bits.ue() + 1;
    out.s1.push(poc);
    out.used1.push(bits.u(1) === 1);
  }
  return out;
}

function readHevcSps(rbsp: Uint8Array): { id: number; sps: HevcSps } {
  const bits = new BitReader(rbsp, 2);
  bits.skip(4);
  const maxSubLayersMinus1 = bits.u(3);
  bits.skip(1);
  bits.skip(96); // general profile_tier_level
  skipHevcSubLayers(bits, maxSubLayersMinus1);
  const id = bits.ue();
  const chromaFormatIdc = bits.ue();
  let separateColourPlane = false;
  if (chromaFormatIdc === 3) separateColourPlane = bits.u(1) === 1;
  const width = bits.ue();
  const height = bits.ue();
  if (bits.u(1)) for (let i = 0; i < 4; i++) bits.ue();
  bits.ue();
  bits.ue();
  const log2MaxPocLsb = bits.ue() + 4;
  if (log2MaxPocLsb > 16) throw new MediaParseError('H.265 SPS: POC field wider than 16 bits');
  const orderingAll = bits.u(1);
  for (let i = orderingAll ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) {
    bits.ue();
    bits.ue();
    bits.ue();
  }
  const minCbLog2 = bits.ue() + 3;
  const ctbLog2 = minCbLog2 + bits.ue();
  if (ctbLog2 > 7) throw new MediaParseError('H.265 SPS: coding tree blocks larger than 128');
  bits.ue();
  bits.ue();
  bits.ue();
  bits.ue();
  if (bits.u(1) && bits.u(1)) skipHevcScalingListData(bits);
  bits.skip(1); // amp_enabled_flag
  const sao = bits.u(1) === 1;
  if (bits.u(1)) {
    bits.skip(8);
    bits.ue();
    bits.ue();
    bits.skip(1);
  }
  const rpsCount = bits.ue();
  if (rpsCount > 64) throw new MediaParseError('H.265 SPS: more than 64 short-term reference picture sets');
  const rps: StRps[] = [];
  for (let i = 0; i < rpsCount; i++) rps.push(readStRps(bits, i, rps, rpsCount));
  const longTermPresent = bits.u(1) === 1;
  const ltUsedSps: boolean[] = [];
  if (longTermPresent) {
    const n = bits.ue();
    if (n > 32) throw new MediaParseError('H.265 SPS: more than 32 long-term reference pictures');
    for (let i = 0; i < n; i++) {
      bits.skip(log2MaxPocLsb);
      ltUsedSps.push(bits.u(1) === 1);
    }
  }
  const temporalMvp = bits.u(1) === 1;
  const ctb = 1 << ctbLog2;
  const picSizeInCtbs = Math.ceil(width / ctb) * Math.ceil(height / ctb);
  return { id, sps: { chromaArrayType: separateColourPlane ? 0 : chromaFormatIdc, separateColourPlane, picSizeInCtbs, log2MaxPocLsb, sao, rps, longTermPresent, ltUsedSps, temporalMvp } };
}

function readHevcPps(rbsp: Uint8Array): { id: number; pps: HevcPps } {
  const bits = new BitReader(rbsp, 2);
  const id = bits.ue();
  const spsId = bits.ue();
  const dependentSliceSegments = bits.u(1) === 1;
  const outputFlagPresent = bits.u(1) === 1;
  const extraSliceHeaderBits = bits.u(3);
  bits.skip(1);
  const cabacInitPresent = bits.u(1) === 1;
  const refIdxL0Default = bits.ue() + 1;
  const refIdxL1Default = bits.ue() + 1;
  bits.se();
  bits.skip(1);
  const transformSkip = bits.u(1) === 1;
  if (bits.u(1)) bits.ue();
  bits.se();
  bits.se();
  const sliceChromaQpOffsetsPresent = bits.u(1) === 1;
  const weightedPred = bits.u(1) === 1;
  const weightedBipred = bits.u(1) === 1;
  bits.skip(1);
  const tiles = bits.u(1) === 1;
  const wpp = bits.u(1) === 1;
  if (tiles) {
    const cols = bits.ue();
    const rows = bits.ue();
    if (cols > 64 || rows > 64) throw new MediaParseError('H.265 PPS: more than 64 tile columns or rows');
    if (!bits.u(1)) {
      for (let i = 0; i < cols; i++) bits.ue();
      for (let i = 0; i < rows; i++) bits.ue();
    }
    bits.skip(1);
  }
  const loopFilterAcrossSlices = bits.u(1) === 1;
  let deblockingOverrideEnabled = false;
  let deblockingDisabled = false;
  if (bits.u(1)) {
    deblockingOverrideEnabled = bits.u(1) === 1;
    deblockingDisabled = bits.u(1) === 1;
    if (!deblockingDisabled) {
      bits.se();
      bits.se();
    }
  }
  if (bits.u(1)) skipHevcScalingListData(bits);
  const listsModificationPresent = bits.u(1) === 1;
  bits.ue();
  const sliceHeaderExtensionPresent = bits.u(1) === 1;
  let chromaQpOffsetListEnabled = false;
  if (bits.u(1)) {
    const range = bits.u(1);
    const others = bits.u(3);
    bits.skip(4);
    if (others !== 0) throw new MediaParseError('H.265 PPS uses multi-layer, 3D or screen content extensions, which cbcs encryption does not support');
    if (range) {
      if (transformSkip) bits.ue();
      bits.skip(1);
      chromaQpOffsetListEnabled = bits.u(1) === 1;
    }
  }
  if (refIdxL0Default > 15 || refIdxL1Default > 15) throw new MediaParseError('H.265 PPS: more than 15 default reference indices');
  return {
    id,
    pps: {
      spsId,
      dependentSliceSegments,
      outputFlagPresent,
      extraSliceHeaderBits,
      cabacInitPresent,
      refIdxL0Default,
      refIdxL1Default,
      sliceChromaQpOffsetsPresent,
      weightedPred,
      weightedBipred,
      tilesOrWpp: tiles || wpp,
      loopFilterAcrossSlices,
      deblockingOverrideEnabled,
      deblockingDisabled,
      listsModificationPresent,
      sliceHeaderExtensionPresent,
      chromaQpOffsetListEnabled,
    },
  };
}

function hevcSliceHeaderBits(rbsp: Uint8Array, sets: ParameterSets): number {
  const nalType = (rbsp[0]! >> 1) & 0x3f;
  const bits = new BitReader(rbsp, 2);
  const first = bits.u(1) === 1;
  if (nalType >= 16 && nalType <= 23) bits.skip(1);
  const ppsId = bits.ue();
  const pps = sets.hevcPps.get(ppsId);
  if (pps === undefined) throw new MediaParseError(`H.265 slice refers to PPS ${ppsId}, which no parameter set defines`);
  const sps = sets.hevcSps.get(pps.spsId);
  if (sps === undefined) throw new MediaParseError(`H.265 PPS ${ppsId} refers to SPS ${pps.spsId}, which no parameter set defines`);
  let dependent = false;
  if (!first) {
    if (pps.dependentSliceSegments) dependent = bits.u(1) === 1;
    bits.skip(ceilLog2(sps.picSizeInCtbs));
  }
  if (!dependent) {
    bits.skip(pps.extraSliceHeaderBits);
    const sliceType = bits.ue();
    const B = 0;
    const P = 1;
    if (sliceType > 2) throw new MediaParseError(`H.265 slice_type ${sliceType}`);
    if (pps.outputFlagPresent) bits.skip(1);
    if (sps.separateColourPlane) bits.skip(2);
    let temporalMvp = false;
    let picTotalCurr = 0;
    if (nalType !== 19 && nalType !== 20) {
      bits.skip(sps.log2MaxPocLsb);
      let rps: StRps | undefined;
      if (!bits.u(1)) {
        rps = readStRps(bits, sps.rps.length, sps.rps, sps.rps.length);
      } else {
        const idx = sps.rps.length > 1 ? bits.u(ceilLog2(sps.rps.length)) : 0;
        rps = sps.rps[idx];
        if (rps === undefined) throw new MediaParseError(`H.265 slice refers to short-term RPS ${idx}, which the SPS does not define`);
      }
      for (const u of [...rps.used0, ...rps.used1]) if (u) picTotalCurr++;
      if (sps.longTermPresent) {
        const fromSps = sps.ltUsedSps.length > 0 ? bits.ue() : 0;
        const own = bits.ue();
        if (fromSps > sps.ltUsedSps.length || own > 32) throw new MediaParseError('H.265 slice: too many long-term pictures');
        for (let i = 0; i < fromSps + own; i++) {
          if (i < fromSps) {
            const idx = sps.ltUsedSps.length > 1 ? bits.u(ceilLog2(sps.ltUsedSps.length)) : 0;
            if (sps.ltUsedSps[idx]) picTotalCurr++;
          } else {
            bits.skip(sps.log2MaxPocLsb);
            if (bits.u(1)) picTotalCurr++;
          }
          if (bits.u(1)) bits.ue();
        }
      }
      if (sps.temporalMvp) temporalMvp = bits.u(1) === 1;
    }
    let saoLuma = false;
    let saoChroma = false;
    if (sps.sao) {
      saoLuma = bits.u(1) === 1;
      if (sps.chromaArrayType !== 0) saoChroma = bits.u(1) === 1;
    }
    if (sliceType === P || sliceType === B) {
      let l0 = pps.refIdxL0Default;
      let l1 = pps.refIdxL1Default;
      if (bits.u(1)) {
        l0 = bits.ue() + 1;
        if (sliceType === B) l1 = bits.ue() + 1;
      }
      if (l0 > 15 || l1 > 15) throw new MediaParseError('H.265 slice: more than 15 active reference indices');
      if (pps.listsModificationPresent && picTotalCurr > 1) {
        const width = ceilLog2(picTotalCurr);
        if (bits.u(1)) bits.skip(l0 * width);
        if (sliceType === B && bits.u(1)) bits.skip(l1 * width);
      }
      if (sliceType === B) bits.skip(1);
      if (pps.cabacInitPresent) bits.skip(1);
      if (temporalMvp) {
        const fromL0 = sliceType === B ? bits.u(1) === 1 : true;
        if ((fromL0 && l0 > 1) || (!fromL0 && l1 > 1)) bits.ue();
      }
      if ((pps.weightedPred && sliceType === P) || (pps.weightedBipred && sliceType === B)) {
        // pred_weight_table (§7.3.6.3); a reference picture never shares the current POC here.
        bits.ue();
        if (sps.chromaArrayType !== 0) bits.se();
        const list = (count: number) => {
          const luma: number[] = [];
          const chroma: number[] = [];
          for (let i = 0; i < count; i++) luma.push(bits.u(1));
          if (sps.chromaArrayType !== 0) for (let i = 0; i < count; i++) chroma.push(bits.u(1));
          for (let i = 0; i < count; i++) {
            if (luma[i]) {
              bits.se();
              bits.se();
            }
            if (chroma[i]) for (let j = 0; j < 4; j++) bits.se();
          }
        };
        list(l0);
        if (sliceType === B) list(l1);
      }
      bits.ue(); // five_minus_max_num_merge_cand
    }
    bits.se(); // slice_qp_delta
    if (pps.sliceChromaQpOffsetsPresent) {
      bits.se();
      bits.se();
    }
    if (pps.chromaQpOffsetListEnabled) bits.skip(1);
    let override = false;
    if (pps.deblockingOverrideEnabled) override = bits.u(1) === 1;
    let deblockingDisabled = pps.deblockingDisabled;
    if (override) {
      deblockingDisabled = bits.u(1) === 1;
      if (!deblockingDisabled) {
        bits.se();
        bits.se();
      }
    }
    if (pps.loopFilterAcrossSlices && (saoLuma || saoChroma || !deblockingDisabled)) bits.skip(1);
  }
  if (pps.tilesOrWpp) {
    const entries = bits.ue();
    if (entries > 0) {
      const size = bits.ue() + 1;
      if (size > 32) throw new MediaParseError('H.265 slice: entry point offsets wider than 32 bits');
      bits.skip(entries * size);
    }
  }
  if (pps.sliceHeaderExtensionPresent) bits.skip(8 * bits.ue());
  // byte_alignment(): a one bit, then zeros up to the byte boundary.
  if (bits.u(1) !== 1) throw new MediaParseError('H.265 slice header does not end with byte_alignment()');
  return bits.bitPosition;
}

// ---------------------------------------------------------------------------------------------

/** The SPS and PPS of one track, by id, as they become known. */
export class ParameterSets {
  readonly avcSps = new Map<number, AvcSps>();
  readonly avcPps = new Map<number, AvcPps>();
  readonly hevcSps = new Map<number, HevcSps>();
  readonly hevcPps = new Map<number, HevcPps>();

  /** The parameter sets of an avcC or hvcC record (14496-15 §5.3.3.1, §8.3.3.1). */
  static fromConfig(codec: Codec, record: Uint8Array): ParameterSets {
    const sets = new ParameterSets();
    const view = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
    const nal = (p: number): number => {
      const len = view.readUInt16BE(p);
      if (p + 2 + len > view.length) throw new MediaParseError(`a parameter set in the ${codec === 'avc' ? 'avcC' : 'hvcC'} record runs past its end`);
      sets.learn(codec, view.subarray(p + 2, p + 2 + len));
      return p + 2 + len;
    };
    if (codec === 'avc') {
      let p = 6;
      const spsCount = view[5]! & 0x1f;
      for (let i = 0; i < spsCount; i++) p = nal(p);
      const ppsCount = view.readUInt8(p++);
      for (let i = 0; i < ppsCount; i++) p = nal(p);
    } else {
      let p = 23;
      const arrays = view.readUInt8(22);
      for (let a = 0; a < arrays; a++) {
        const count = view.readUInt16BE(p + 1);
        p += 3;
        for (let i = 0; i < count; i++) p = nal(p);
      }
    }
    return sets;
  }

  /** Reads a NAL unit if it is an SPS or a PPS (other NAL units are ignored). */
  learn(codec: Codec, nal: Uint8Array): void {
    if (nal.length < 2) return;
    const type = codec === 'avc' ? nal[0]! & 0x1f : (nal[0]! >> 1) & 0x3f;
    if (codec === 'avc' && type === 7) {
      const { id, sps } = readAvcSps(unescape(nal).rbsp);
      if (id > 31) throw new MediaParseError(`H.264 SPS id ${id} above 31`);
      this.avcSps.set(id, sps);
    } else if (codec === 'avc' && type === 8) {
      const { id, pps } = readAvcPps(unescape(nal).rbsp);
      if (id > 255) throw new MediaParseError(`H.264 PPS id ${id} above 255`);
      this.avcPps.set(id, pps);
    } else if (codec === 'hevc' && type === 33) {
      const { id, sps } = readHevcSps(unescape(nal).rbsp);
      if (id > 15) throw new MediaParseError(`H.265 SPS id ${id} above 15`);
      this.hevcSps.set(id, sps);
    } else if (codec === 'hevc' && type === 34) {
      const { id, pps } = readHevcPps(unescape(nal).rbsp);
      if (id > 63) throw new MediaParseError(`H.265 PPS id ${id} above 63`);
      this.hevcPps.set(id, pps);
    }
  }
}

/** Slice headers are short: the first bytes are unescaped and parsed, the whole NAL unit only when they do not hold the header. */
const HEADER_PREFIX = 512;

function parseHeader(codec: Codec, nal: Uint8Array, sets: ParameterSets): { bits: number; removed: number[] } {
  const attempt = (bytes: Uint8Array) => {
    const { rbsp, removed } = unescape(bytes);
    return { bits: codec === 'avc' ? avcSliceHeaderBits(rbsp, sets) : hevcSliceHeaderBits(rbsp, sets), removed };
  };
  if (nal.length > HEADER_PREFIX) {
    try {
      return attempt(nal.subarray(0, HEADER_PREFIX));
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
    }
  }
  return attempt(nal);
}

/** Bits of the NAL unit header and slice header, counted in the RBSP (emulation prevention bytes removed). */
export function sliceHeaderBits(codec: Codec, nal: Uint8Array, sets: ParameterSets): number {
  return parseHeader(codec, nal, sets).bits;
}

/**
 * How many bytes of a slice NAL unit (counted from its first header byte) the NAL unit header and
 * the slice header occupy, up to and including the byte holding the header's last bit.
 */
export function sliceHeaderBytes(codec: Codec, nal: Uint8Array, sets: ParameterSets): number {
  const { bits, removed } = parseHeader(codec, nal, sets);
  const rbspBytes = Math.ceil(bits / 8);
  // Emulation prevention bytes inside the header count too.
  let bytes = rbspBytes;
  for (const at of removed) if (at < rbspBytes) bytes++;
  return Math.min(bytes, nal.length);
}
