// The recording form: site → classroom (teacher from the roster) → kind (a calibration
// co-observation with its shared key) → each dimension 1-4 or "not observed" with the level
// descriptors one tap away → talk-move tallies and the discussion timer → optional participation
// coding and enrolment → evidence and next steps → save as draft, submit, amend, or delete a
// draft. The record is validated as the server validates it before anything is queued.
import { h, announce } from './dom.js';
import { t, text, language } from './i18n.js';
import { newID } from './outbox.js';
import { normalize, nowUTC } from './record.js';
import { validate } from './validate.js';
import { rubric as loadRubric } from './data.js';

// localInput turns a canonical UTC time into a datetime-local value (the tablet's clock) and back.
const toLocal = (s) => { const d = new Date(s); return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16); };
const fromLocal = (v) => (v ? nowUTC(new Date(v)) : '');

export async function renderForm(main, app, entry, done, live = () => true) {
  const { user, roster } = app;
  const existing = entry?.record;
  const rv = existing ? await loadRubric(existing.rubric_id, existing.rubric_version) : app.rubric;
  if (!live()) return; // the person has moved on
  const c = rv.content[language()] ?? rv.content.en;
  const r = existing ? structuredClone(existing) : normalize({
    id: newID(), district_id: user.district_id, observer_id: user.user_id, observer_role: user.role, kind: '',
    rubric_id: rv.rubric_id, rubric_version: rv.version, language: language(), started_at: nowUTC(), status: 'draft',
  });
  const amending = existing?.status === 'submitted';
  const scores = new Map(r.scores.map((s) => [s.dimension, { ...s }]));
  const tallies = new Map(r.tallies.map((x) => [x.category, x.count]));
  const part = new Map(r.participation.map((p) => [p.field + '\0' + p.option, p.count]));
  const enrol = new Map(r.enrolment.map((e) => [e.group, e.count]));
  const chosen = new Map(); // participation field → option picked for the next contribution
  // Contributions coded so far: the largest total over one field (each contribution counts once per field coded).
  const perField = new Map();
  for (const p of r.participation) perField.set(p.field, (perField.get(p.field) ?? 0) + p.count);
  let contributions = Math.max(0, ...perField.values());
  let timerFrom = 0, timerAcc = 0, timerTick = 0;

  const sites = roster.sites;
  const siteSel = h('select', { id: 'site', 'data-field': 'record.site_id', onchange: () => { r.site_id = siteSel.value; r.classroom_id = ''; fillClassrooms(); } },
    h('option', { value: '' }, t('choose')), sites.map((s) => h('option', { value: s.site_id, selected: s.site_id === r.site_id }, s.name)));
  const classSel = h('select', { id: 'classroom', 'data-field': 'record.classroom_id', onchange: () => pickClassroom() });
  const teacherOut = h('output', { id: 'teacher', for: 'classroom', 'data-field': 'record.teacher_id' });
  const teacherName = (id) => { const p = roster.staff.get(id); return p ? `${p.given_name} ${p.family_name}` : id; };
  function fillClassrooms() {
    classSel.replaceChildren(h('option', { value: '' }, t('choose')),
      ...[...roster.classrooms.values()].filter((cl) => cl.site_id === r.site_id)
        .map((cl) => h('option', { value: cl.classroom_id, selected: cl.classroom_id === r.classroom_id },
          `${cl.course} ${cl.section ? '(' + cl.section + ')' : ''} — ${teacherName(cl.teacher_id)}`)));
    pickClassroom();
  }
  function pickClassroom() {
    r.classroom_id = classSel.value;
    const cl = roster.classrooms.get(r.classroom_id);
    if (cl) Object.assign(r, { teacher_id: cl.teacher_id, course: cl.course ?? '', grade: cl.grade ?? '', section: cl.section ?? '' });
    teacherOut.textContent = cl ? teacherName(cl.teacher_id) : '';
  }

  const coKey = h('input', { id: 'co-key', type: 'text', value: r.co_observation, 'data-field': 'record.co_observation', autocomplete: 'off', oninput: () => { r.co_observation = coKey.value.trim(); } });
  const coWrap = h('div', { class: 'field', hidden: r.kind !== 'calibration' }, h('label', { for: 'co-key' }, t('coKey')), coKey);
  const kinds = h('fieldset', { class: 'choices', 'data-field': 'record.kind' }, h('legend', null, t('kind')),
    ['walkthrough', 'informal', 'formal', 'calibration'].map((k) => h('label', { class: 'choice' },
      h('input', { type: 'radio', name: 'kind', value: k, checked: r.kind === k, onchange: () => { r.kind = k; coWrap.hidden = k !== 'calibration'; if (k !== 'calibration') r.co_observation = ''; } }), t(k))));

  const num = (id, field, value, set, attrs = {}) => h('input', { id, type: 'number', inputmode: 'numeric', min: 0, value: value || '', 'data-field': field, oninput: (e) => set(e.target.value === '' ? 0 : Number(e.target.value)), ...attrs });
  const started = h('input', { id: 'started', type: 'datetime-local', value: toLocal(r.started_at), 'data-field': 'record.started_at', oninput: () => { r.started_at = fromLocal(started.value); } });
  const duration = num('duration', 'record.duration_minutes', r.duration_minutes, (v) => { r.duration_minutes = v; }, { max: 600 });
  const discussion = num('discussion', 'record.discussion_minutes', r.discussion_minutes, (v) => { r.discussion_minutes = v; timerAcc = v * 60000; });
  const timerOut = h('output', { id: 'timer-out', 'aria-live': 'off' }, '0:00');
  const timerBtn = h('button', { type: 'button', id: 'timer', class: 'secondary', onclick: () => toggleTimer() }, t('timerStart'));
  timerAcc = r.discussion_minutes * 60000;
  function toggleTimer() {
    if (timerFrom) {
      timerAcc += Date.now() - timerFrom; timerFrom = 0; clearInterval(timerTick);
      r.discussion_minutes = Math.round(timerAcc / 60000); discussion.value = r.discussion_minutes;
      timerBtn.textContent = t('timerStart');
    } else {
      timerFrom = Date.now(); timerBtn.textContent = t('timerStop');
      timerTick = setInterval(() => { const s = Math.floor((timerAcc + Date.now() - timerFrom) / 1000); timerOut.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`; }, 1000);
    }
  }
  const area = (id, field, value, set, label) => h('div', { class: 'field' }, h('label', { for: id }, label),
    h('textarea', { id, rows: 3, 'data-field': field, oninput: (e) => set(e.target.value) }, value));

  const dims = (c.dimensions ?? []).map((d) => {
    const s = scores.get(d.key) ?? { dimension: d.key, level: 0, not_observed: false, evidence: '' };
    scores.set(d.key, s);
    const opts = (d.levels ?? []).map((lv) => h('label', { class: 'choice level' },
      h('input', { type: 'radio', name: 'dim-' + d.key, value: lv.level, checked: !s.not_observed && s.level === lv.level,
        onchange: () => { s.level = lv.level; s.not_observed = false; } }), `${lv.level} ${text(lv.label)}`));
    if (d.allow_not_observed) {
      opts.push(h('label', { class: 'choice level' }, h('input', { type: 'radio', name: 'dim-' + d.key, value: 'no', checked: s.not_observed,
        onchange: () => { s.level = 0; s.not_observed = true; } }), t('notObserved')));
    }
    return h('fieldset', { class: 'dimension', 'data-dim': d.key }, h('legend', null, text(d.title)),
      h('div', { class: 'choices' }, opts),
      h('details', null, h('summary', null, t('descriptors')),
        h('dl', null, (d.levels ?? []).map((lv) => [h('dt', null, `${lv.level} ${text(lv.label)}`), h('dd', null, text(lv.descriptor))]))),
      area('ev-' + d.key, '', s.evidence, (v) => { s.evidence = v; }, `${t('evidence')} — ${text(d.title)}`));
  });

  const tallyRows = (speaker) => (c.tally_categories ?? []).filter((x) => x.speaker === speaker).map((x) => {
    const out = h('output', { class: 'count', id: 'tally-' + x.key, 'aria-live': 'polite' }, String(tallies.get(x.key) ?? 0));
    const bump = (n) => { const v = Math.max(0, (tallies.get(x.key) ?? 0) + n); tallies.set(x.key, v); out.textContent = String(v); };
    return h('div', { class: 'tally', 'data-tally': x.key },
      h('span', { class: 'tally-name' }, text(x.title)),
      h('button', { type: 'button', class: 'tap minus', 'aria-label': t('sub', text(x.title)), onclick: () => bump(-1) }, '−'), out,
      h('button', { type: 'button', class: 'tap plus', 'aria-label': t('add', text(x.title)), onclick: () => bump(1) }, '+'));
  });

  const contribOut = h('output', { id: 'contributions', 'aria-live': 'polite' }, t('contributions', contributions));
  const fields = (c.participation_fields ?? []).map((f) => {
    const options = f.district_defined ? roster.groups.map((g) => ({ key: g.key, label: g.label })) : (f.options ?? []).map((o) => ({ key: o.key, label: text(o.label) }));
    return h('fieldset', { class: 'choices', 'data-pfield': f.key }, h('legend', null, text(f.title)),
      options.map((o) => h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'pf-' + f.key, value: o.key, onchange: () => chosen.set(f.key, o.key) }), o.label)));
  });
  const record = h('button', { type: 'button', id: 'record-contribution', onclick: () => {
    for (const [f, o] of chosen) part.set(f + '\0' + o, (part.get(f + '\0' + o) ?? 0) + 1);
    if (chosen.size > 0) contributions++;
    contribOut.textContent = t('contributions', contributions);
  } }, t('recordContribution'));
  const enrolInputs = roster.groups.map((g) => h('div', { class: 'field inline' }, h('label', { for: 'enrol-' + g.key }, g.label),
    num('enrol-' + g.key, '', enrol.get(g.key), (v) => enrol.set(g.key, v))));

  const errors = h('div', { id: 'errors', role: 'alert', tabindex: -1 });
  const rejected = entry?.meta?.rejected;

  // build assembles the record from the form, in the rubric's order.
  function build(status) {
    r.status = status;
    r.scores = (c.dimensions ?? []).map((d) => scores.get(d.key)).filter((s) => s.level || s.not_observed || s.evidence);
    r.tallies = (c.tally_categories ?? []).map((x) => ({ category: x.key, count: tallies.get(x.key) ?? 0 }));
    r.participation = (c.participation_fields ?? []).flatMap((f) => [...part.entries()]
      .filter(([k, n]) => k.startsWith(f.key + '\0') && n > 0).map(([k, n]) => ({ field: f.key, option: k.slice(f.key.length + 1), count: n })));
    r.enrolment = roster.groups.filter((g) => enrol.has(g.key)).map((g) => ({ group: g.key, count: enrol.get(g.key) }));
    r.recorded_at = nowUTC();
    // Point each score's path at its dimension, so an error names the right fieldset.
    main.querySelectorAll('fieldset.dimension').forEach((el) => { el.removeAttribute('data-field'); });
    r.scores.forEach((s, i) => main.querySelector(`fieldset[data-dim="${s.dimension}"]`)?.setAttribute('data-field', `record.scores[${i}]`));
    return normalize(r);
  }

  async function save(status) {
    const rec = build(status);
    const cl = roster.classrooms.get(rec.classroom_id);
    const err = validate(rec, { rubric: rv, classroom: cl, groups: roster.groups.map((g) => g.key) });
    main.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
    if (err) {
      showError(err);
      return;
    }
    await app.save(rec);
    announce(t('saved'));
    done();
  }
  function showError(err) {
    const path = err.field.replace(/\.(level|not_observed|evidence|dimension|count|category|option|field|group)$/, '');
    const el = main.querySelector(`[data-field="${err.field}"]`) ?? main.querySelector(`[data-field="${path}"]`);
    errors.replaceChildren(h('p', null, t('fix')), h('p', { class: 'error', 'data-reason': err.reason }, `${err.field}: ${err.message} (${err.reason})`));
    if (el) el.setAttribute('aria-invalid', 'true');
    errors.focus();
  }

  // Only the observer amends their record (the server answers NOT_OWNER to anyone else); a
  // colleague's submitted record in scope opens read-only.
  const mine = !existing || existing.observer_id === user.user_id;
  const buttons = !mine ? [] : amending
    ? [h('button', { type: 'button', id: 'save-amend', onclick: () => save('submitted') }, t('saveAmend'))]
    : [h('button', { type: 'button', id: 'save-draft', class: 'secondary', onclick: () => save('draft') }, t('saveDraft')),
      h('button', { type: 'button', id: 'submit', onclick: () => save('submitted') }, t('submit'))];
  if (existing && !amending) {
    buttons.push(h('button', { type: 'button', id: 'delete-draft', class: 'danger', onclick: async () => { await app.remove(r.id); announce(t('deleted')); done(); } }, t('deleteDraft')));
  }

  main.replaceChildren(h('form', { id: 'obs-form', 'data-id': r.id, onsubmit: (e) => e.preventDefault() },
    h('h1', null, existing ? `${text(c.title)} — ${t(existing.status)}` : t('newObs')),
    rejected ? h('div', { class: 'rejected', role: 'alert', id: 'rejection' }, h('p', null, t('rejectedBy')),
      h('p', { class: 'error' }, `${rejected.field}: ${rejected.message} (${rejected.reason})`), h('p', null, t('resend'))) : null,
    errors,
    h('section', null,
      h('div', { class: 'field' }, h('label', { for: 'site' }, t('site')), siteSel),
      h('div', { class: 'field' }, h('label', { for: 'classroom' }, t('classroom')), classSel),
      h('div', { class: 'field' }, h('span', { class: 'label' }, t('teacher')), teacherOut),
      kinds, coWrap,
      h('div', { class: 'row' },
        h('div', { class: 'field' }, h('label', { for: 'started' }, t('startedAt')), started),
        h('div', { class: 'field' }, h('label', { for: 'duration' }, t('duration')), duration)),
      area('focus', 'record.lesson_focus', r.lesson_focus, (v) => { r.lesson_focus = v; }, t('focus'))),
    h('section', null, h('h2', null, t('scores')), h('p', { class: 'hint' }, t('privacy')), dims),
    h('section', null, h('h2', null, t('talk')),
      h('div', { class: 'row' },
        h('div', { class: 'field' }, h('label', { for: 'discussion' }, t('discussion')), discussion),
        h('div', { class: 'field' }, timerBtn, timerOut)),
      h('h3', null, t('teacherMoves')), tallyRows('SPEAKER_TEACHER'),
      h('h3', null, t('studentMoves')), tallyRows('SPEAKER_STUDENT')),
    h('details', { class: 'section', open: part.size > 0 || enrol.size > 0 }, h('summary', null, t('participation')),
      h('h3', null, t('enrolment')), enrolInputs,
      h('h3', null, t('contribution')), fields, record, contribOut),
    h('section', null, area('next-steps', 'record.next_steps', r.next_steps, (v) => { r.next_steps = v; }, t('nextSteps'))),
    h('div', { class: 'actions' }, buttons, h('a', { href: '#/', class: 'button secondary' }, t('cancel')))));
  fillClassrooms();
  if (rejected) showError(rejected);
}
