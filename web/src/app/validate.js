// validate mirrors the server's record validation (observation.ValidateRecord): the same order,
// the same field paths ("record.scores[2].level") and the same reason codes, so a record the app
// queues is one the server accepts, and a coach fixes it before anything is sent.
//
// rubric is the RubricVersion as the gateway returns it (content.dimensions, tally_categories,
// participation_fields, min_level, max_level; status VERSION_STATUS_*); classroom the roster's
// classroom ({classroom_id, site_id, teacher_id}) plus district_id; groups the district's student
// group keys.

const LIMITS = { evidence: 4000, lessonFocus: 500, nextSteps: 4000, label: 200, minDuration: 1, maxDuration: 600, count: 10000 };
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RECORDING_ROLES = ['coach', 'principal', 'district_admin', 'admin'];
const KINDS = ['walkthrough', 'informal', 'formal', 'calibration'];
const EARLIEST = Date.UTC(2000, 0, 1);
const SKEW = 24 * 3600 * 1000;

class Invalid extends Error {
  constructor(field, reason, message) { super(message); this.field = field; this.reason = reason; }
}
const fail = (field, reason, message) => { throw new Invalid(field, reason, message); };
const q = (s) => JSON.stringify(String(s).slice(0, 64));

// validate returns null or the first violation {field, reason, message}.
export function validate(r, { rubric, classroom, groups = [], now = Date.now() }) {
  try {
    check(r, rubric, classroom, new Set(groups), now + SKEW);
    return null;
  } catch (e) {
    if (e instanceof Invalid) return { field: e.field, reason: e.reason, message: e.message };
    throw e;
  }
}

function checkID(path, id) {
  if (!id) fail(path, 'REQUIRED', 'an id is required');
  if (!ID.test(id)) fail(path, 'BAD_ID', `id ${q(id)} must be 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit`);
}

function checkText(path, s, max) {
  if (s.includes('\0')) fail(path, 'INVALID_UTF8', 'the text contains a NUL character, which cannot be stored');
  if (s.length > max) {
    const n = [...s].length;
    if (n > max) fail(path, 'TOO_LONG', `the text has ${n} characters; at most ${max} are allowed`);
  }
}

function checkEnum(path, s, reason, allowed) {
  if (!s) fail(path, 'REQUIRED', 'a value is required');
  if (!allowed.includes(s)) fail(path, reason, `${q(s)} is not one of ${allowed.join(', ')}`);
}

function checkTime(path, s, latest) {
  if (!s) fail(path, 'REQUIRED', 'a time is required');
  const t = Date.parse(s);
  if (Number.isNaN(t)) fail(path, 'REQUIRED', `${q(s)} is not a time`);
  if (t < EARLIEST) fail(path, 'BAD_TIMESTAMP', `time ${s} is before 2000-01-01T00:00:00Z`);
  if (t > latest) fail(path, 'FUTURE_TIMESTAMP', `time ${s} is in the future (the server allows up to a day ahead)`);
}

function checkCount(path, n) {
  if (!Number.isInteger(n)) fail(path, 'OUT_OF_RANGE', `count ${q(n)} is not a whole number`);
  if (n < 0) fail(path, 'NEGATIVE', `count ${n} is negative`);
  if (n > LIMITS.count) fail(path, 'OUT_OF_RANGE', `count ${n} is over ${LIMITS.count}`);
}

function check(r, rubric, cl, groups, latest) {
  if (!r.id) fail('record.id', 'REQUIRED', 'an id is required');
  if (!UUID.test(r.id)) fail('record.id', 'BAD_ID', `id ${q(r.id)} must be a lowercase UUID (8-4-4-4-12 hex digits)`);
  if (/^[0-]+$/.test(r.id)) fail('record.id', 'BAD_ID', 'id must not be the nil UUID');
  checkID('record.district_id', r.district_id);
  checkID('record.site_id', r.site_id);
  checkID('record.classroom_id', r.classroom_id);
  if (!cl) fail('record.classroom_id', 'UNKNOWN_CLASSROOM', `classroom ${q(r.classroom_id)} is not on the roster`);
  if (cl.classroom_id !== r.classroom_id) fail('record.classroom_id', 'CLASSROOM_MISMATCH', `classroom ${q(r.classroom_id)} is not the roster's classroom ${q(cl.classroom_id)}`);
  if (cl.district_id !== r.district_id) fail('record.district_id', 'CLASSROOM_MISMATCH', `classroom ${q(r.classroom_id)} belongs to district ${q(cl.district_id)}, not ${q(r.district_id)}`);
  if (cl.site_id !== r.site_id) fail('record.site_id', 'CLASSROOM_MISMATCH', `classroom ${q(r.classroom_id)} belongs to site ${q(cl.site_id)}, not ${q(r.site_id)}`);
  checkText('record.course', r.course, LIMITS.label);
  checkText('record.grade', r.grade, LIMITS.label);
  checkText('record.section', r.section, LIMITS.label);
  checkID('record.teacher_id', r.teacher_id);
  if (cl.teacher_id && cl.teacher_id !== r.teacher_id) fail('record.teacher_id', 'TEACHER_MISMATCH', `teacher ${q(r.teacher_id)} is not the teacher of classroom ${q(r.classroom_id)}`);
  checkID('record.observer_id', r.observer_id);
  checkEnum('record.observer_role', r.observer_role, 'BAD_ROLE', RECORDING_ROLES);
  checkEnum('record.kind', r.kind, 'BAD_KIND', KINDS);
  if (r.kind === 'calibration' && !r.co_observation) fail('record.co_observation', 'CO_OBSERVATION', 'a calibration observation needs the co-observation key it shares with the other observer');
  if (r.kind !== 'calibration' && r.co_observation) fail('record.co_observation', 'CO_OBSERVATION', 'only a calibration observation has a co-observation key');
  if (r.co_observation && !ID.test(r.co_observation)) fail('record.co_observation', 'BAD_ID', `co-observation key ${q(r.co_observation)} must be 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit`);
  if (!r.rubric_id) fail('record.rubric_id', 'REQUIRED', 'a rubric id is required');
  if (!rubric || r.rubric_id !== rubric.rubric_id) fail('record.rubric_id', 'UNKNOWN_RUBRIC', `rubric ${q(r.rubric_id)} is unknown`);
  if (r.rubric_version !== rubric.version) fail('record.rubric_version', 'UNKNOWN_RUBRIC', `rubric ${q(r.rubric_id)} has no version ${r.rubric_version}`);
  if (rubric.status === 'VERSION_STATUS_DRAFT') fail('record.rubric_version', 'DRAFT_RUBRIC', `rubric ${q(r.rubric_id)} version ${r.rubric_version} is a draft and does not accept records yet`);
  if (rubric.status === 'VERSION_STATUS_RETIRED') fail('record.rubric_version', 'RETIRED_RUBRIC', `rubric ${q(r.rubric_id)} version ${r.rubric_version} is retired and no longer accepts records`);
  if (rubric.status !== 'VERSION_STATUS_PUBLISHED') fail('record.rubric_version', 'UNKNOWN_RUBRIC', `rubric ${q(r.rubric_id)} version ${r.rubric_version} has no usable status`);
  checkText('record.language', r.language, LIMITS.label);
  checkTime('record.started_at', r.started_at, latest);
  if (!Number.isInteger(r.duration_minutes) || r.duration_minutes < LIMITS.minDuration || r.duration_minutes > LIMITS.maxDuration) {
    fail('record.duration_minutes', 'OUT_OF_RANGE', `duration ${r.duration_minutes} is outside ${LIMITS.minDuration}..${LIMITS.maxDuration} minutes`);
  }
  if (!Number.isInteger(r.discussion_minutes)) fail('record.discussion_minutes', 'OUT_OF_RANGE', 'discussion minutes must be a whole number');
  if (r.discussion_minutes < 0) fail('record.discussion_minutes', 'NEGATIVE', `discussion minutes ${r.discussion_minutes} are negative`);
  if (r.discussion_minutes > r.duration_minutes) fail('record.discussion_minutes', 'DISCUSSION_EXCEEDS_DURATION', `${r.discussion_minutes} discussion minutes exceed the ${r.duration_minutes}-minute duration`);
  checkText('record.lesson_focus', r.lesson_focus, LIMITS.lessonFocus);
  const c = rubric.content.en ?? rubric.content; // data.js holds {en, es}; either has the structure
  checkScores(r, c);
  checkTallies(r.tallies, c.tally_categories ?? []);
  checkParticipation(r.participation, c.participation_fields ?? [], groups);
  checkEnrolment(r.enrolment, groups);
  checkText('record.next_steps', r.next_steps, LIMITS.nextSteps);
  checkEnum('record.status', r.status, 'BAD_STATUS', ['draft', 'submitted']);
  checkTime('record.recorded_at', r.recorded_at, latest);
}

function checkScores(r, c) {
  const dims = new Map((c.dimensions ?? []).map((d) => [d.key, d]));
  const scored = new Set();
  r.scores.forEach((s, i) => {
    const p = `record.scores[${i}]`;
    const d = dims.get(s.dimension);
    if (!s.dimension) fail(p + '.dimension', 'REQUIRED', 'a dimension is required');
    if (!d) fail(p + '.dimension', 'UNKNOWN_DIMENSION', `dimension ${q(s.dimension)} is not in the rubric`);
    if (scored.has(s.dimension)) fail(p + '.dimension', 'DUPLICATE_DIMENSION', `dimension ${q(s.dimension)} is scored twice`);
    scored.add(s.dimension);
    if (s.not_observed && !d.allow_not_observed) fail(p + '.not_observed', 'NOT_OBSERVED_NOT_ALLOWED', `dimension ${q(s.dimension)} cannot be scored as not observed`);
    if (s.not_observed && s.level !== 0) fail(p + '.level', 'LEVEL_WITH_NOT_OBSERVED', `a not-observed score has no level, got ${s.level}`);
    if (!s.not_observed && (s.level < c.min_level || s.level > c.max_level)) fail(p + '.level', 'LEVEL_OUT_OF_RANGE', `level ${s.level} is outside ${c.min_level}..${c.max_level}`);
    checkText(p + '.evidence', s.evidence, LIMITS.evidence);
  });
  if (r.status === 'submitted') {
    for (const d of c.dimensions ?? []) {
      if (!scored.has(d.key)) fail('record.scores', 'MISSING_SCORE', `a submitted observation must score dimension ${q(d.key)} (a level or not observed)`);
    }
  }
}

function checkTallies(ts, cats) {
  const known = new Set(cats.map((c) => c.key));
  const seen = new Set();
  ts.forEach((t, i) => {
    const p = `record.tallies[${i}]`;
    if (!t.category) fail(p + '.category', 'REQUIRED', 'a category is required');
    if (!known.has(t.category)) fail(p + '.category', 'UNKNOWN_TALLY_CATEGORY', `category ${q(t.category)} is not in the rubric`);
    if (seen.has(t.category)) fail(p + '.category', 'DUPLICATE_TALLY', `category ${q(t.category)} is tallied twice`);
    seen.add(t.category);
    checkCount(p + '.count', t.count);
  });
}

function checkParticipation(ps, fields, groups) {
  const byKey = new Map(fields.map((f) => [f.key, f]));
  const seen = new Set();
  ps.forEach((pc, i) => {
    const p = `record.participation[${i}]`;
    const f = byKey.get(pc.field);
    if (!pc.field) fail(p + '.field', 'REQUIRED', 'a participation field is required');
    if (!f) fail(p + '.field', 'UNKNOWN_PARTICIPATION_FIELD', `participation field ${q(pc.field)} is not in the rubric`);
    if (!pc.option) fail(p + '.option', 'REQUIRED', 'an option is required');
    const ok = f.district_defined ? groups.has(pc.option) : (f.options ?? []).some((o) => o.key === pc.option);
    if (!ok) fail(p + '.option', 'UNKNOWN_OPTION', f.district_defined ? `${q(pc.option)} is not one of the district's student groups` : `${q(pc.option)} is not an option of field ${q(pc.field)}`);
    const k = pc.field + '\0' + pc.option;
    if (seen.has(k)) fail(p + '.option', 'DUPLICATE_PARTICIPATION', `option ${q(pc.option)} of field ${q(pc.field)} is counted twice`);
    seen.add(k);
    checkCount(p + '.count', pc.count);
  });
}

function checkEnrolment(es, groups) {
  const seen = new Set();
  es.forEach((e, i) => {
    const p = `record.enrolment[${i}]`;
    if (!e.group) fail(p + '.group', 'REQUIRED', 'a student group is required');
    if (!groups.has(e.group)) fail(p + '.group', 'UNKNOWN_GROUP', `${q(e.group)} is not one of the district's student groups`);
    if (seen.has(e.group)) fail(p + '.group', 'DUPLICATE_GROUP', `the enrolment of group ${q(e.group)} is given twice`);
    seen.add(e.group);
    checkCount(p + '.count', e.count);
  });
}
