// The pages' own strings in English and Spanish. The rubric's texts (dimension and talk-move
// titles) come from the API in the requested language; only the page's labels live here.

const en = {
  signIn: 'Sign in', signOut: 'Sign out', loading: 'Loading…', language: 'Language',
  period: 'Period', kind: 'Kind', key: 'Which', show: 'Show', current: 'current',
  kinds: { school_year: 'School year', term: 'Term', month: 'Month', week: 'Week', window: 'District window' },
  site: 'Site', sitePage: 'Site progress', districtPage: 'District progress', networkPage: 'Network measures',
  partial: (p) => `In progress: covers ${p.first_day} to ${p.through_day} of ${p.first_day}–${p.last_day}; compared with the same days of the previous period.`,
  periodRange: (p) => `${p.first_day} to ${p.last_day}`,
  previous: (p) => `Changes are against ${p.key} (${p.first_day} to ${p.partial ? p.through_day : p.last_day}).`,
  csv: 'Download CSV', trends: 'Trends by dimension', trendsNote: 'Mean level per period; n (scored observations) under each point; a break in a line is a new, non-comparable rubric version.',
  dimension: 'Dimension', meanLevel: 'Mean level', shareProficient: 'Share proficient', n: 'n', teachers: 'Teachers',
  change: 'Change', levels: 'Level distribution', level: 'Level', observations: 'Observations', notObserved: 'Not observed',
  since: (v) => `since version ${v}`,
  changeStatus: {
    PERIOD_CHANGE_STATUS_COMPARED: 'compared', PERIOD_CHANGE_STATUS_NO_PREVIOUS_DATA: 'no previous data',
    PERIOD_CHANGE_STATUS_SERIES_BREAK: 'not comparable (new rubric version)', PERIOD_CHANGE_STATUS_SUPPRESSED: 'withheld',
    PERIOD_CHANGE_STATUS_NO_DATA: 'no observations', PERIOD_CHANGE_STATUS_UNSPECIFIED: '',
  },
  thisPeriod: 'This period', coverage: 'Coverage', coverageBySite: 'Coverage across sites', classrooms: 'Classrooms',
  observed: 'Observed', perClassroom: 'Observations per classroom', classroom: 'Classroom', teacher: 'Teacher',
  lastVisit: 'Last visit', daysSince: 'Days since last visit', never: 'never visited', asOf: (d) => `as of ${d}`,
  talk: 'Talk moves', category: 'Move', speaker: 'Speaker', ratePer10: 'Per 10 discussion minutes',
  speakers: { SPEAKER_TEACHER: 'Teacher', SPEAKER_STUDENT: 'Student', SPEAKER_UNSPECIFIED: '' },
  pressShare: 'Press share (teacher moves)', reasoningShare: 'Student reasoning share', equity: 'Participation equity by student group',
  group: 'Student group', equityRatio: 'Equity ratio (1.0 is parity)', equityObs: (n) => `${n} observations with participation coding.`,
  calibration: 'Calibration', ownCalibration: 'Your calibration', calibrationByObserver: 'Calibration per observer', calibrationByDimension: 'Calibration per dimension',
  observer: 'Observer', lessons: 'Co-observed lessons', pairs: 'Pairs', exact: 'Exact agreement', adjacent: 'Adjacent agreement',
  kappa: 'Weighted kappa', band: 'Landis-Koch band', target: 'Target', meets: 'Meets target', yes: 'yes', no: 'no',
  targets: (k, a) => `District target: kappa ≥ ${k} and adjacent agreement ≥ ${a}.`,
  bands: { poor: 'poor', slight: 'slight', fair: 'fair', moderate: 'moderate', substantial: 'substantial', almost_perfect: 'almost perfect', '': '—' },
  goals: 'Goals', goal: 'Goal', measure: 'Measure', baseline: 'Baseline', currentValue: 'Current', progress: 'Progress', status: 'Status', targetDate: 'By',
  measures: { GOAL_MEASURE_MEAN_LEVEL: 'mean level', GOAL_MEASURE_SHARE_PROFICIENT: 'share proficient', GOAL_MEASURE_UNSPECIFIED: '' },
  goalStatus: { GOAL_STATUS_MET: 'met', GOAL_STATUS_IN_PROGRESS: 'in progress', GOAL_STATUS_MISSED: 'missed', GOAL_STATUS_NO_DATA: 'no data', GOAL_STATUS_UNSPECIFIED: '' },
  districtWide: 'whole district', noGoals: 'No goals set.', none: 'None.',
  heatmap: 'Sites × dimensions', networkHeat: 'Districts × dimensions', heatShow: 'Show', total: 'All sites', noTeachers: 'no teachers on the roster',
  network: 'Network', district: 'District', noObservers: 'No co-observed lessons in this period.',
  noData: 'no observations', withheld: 'Withheld',
  reasons: {
    'too few teachers': (r) => `fewer than ${r.min_teachers_per_cell || 3} teachers`,
    'n below threshold': (r) => `n below ${r.suppression_threshold || 11}`,
    complementary: () => 'would reveal a withheld cell',
  },
  suppressedLegend: 'Hatched cells are withheld to protect privacy; they say why. “no observations” means nothing was recorded.',
  error: (s, m) => `The server answered ${s}: ${m}`,
  noSites: 'No site is assigned to you.', noPage: 'There is no page for your role here.',
  chooseSite: 'Site',
};

const es = {
  signIn: 'Iniciar sesión', signOut: 'Cerrar sesión', loading: 'Cargando…', language: 'Idioma',
  period: 'Periodo', kind: 'Tipo', key: 'Cuál', show: 'Mostrar', current: 'actual',
  kinds: { school_year: 'Ciclo escolar', term: 'Trimestre', month: 'Mes', week: 'Semana', window: 'Ventana del distrito' },
  site: 'Escuela', sitePage: 'Avance de la escuela', districtPage: 'Avance del distrito', networkPage: 'Indicadores de la red',
  partial: (p) => `En curso: abarca del ${p.first_day} al ${p.through_day} del periodo ${p.first_day}–${p.last_day}; se compara con los mismos días del periodo anterior.`,
  periodRange: (p) => `del ${p.first_day} al ${p.last_day}`,
  previous: (p) => `Los cambios se miden contra ${p.key} (del ${p.first_day} al ${p.partial ? p.through_day : p.last_day}).`,
  csv: 'Descargar CSV', trends: 'Tendencias por dimensión', trendsNote: 'Nivel promedio por periodo; n (observaciones con nivel) bajo cada punto; un corte en la línea es una versión nueva, no comparable, de la rúbrica.',
  dimension: 'Dimensión', meanLevel: 'Nivel promedio', shareProficient: 'Proporción en nivel logrado', n: 'n', teachers: 'Docentes',
  change: 'Cambio', levels: 'Distribución por nivel', level: 'Nivel', observations: 'Observaciones', notObserved: 'No observado',
  since: (v) => `desde la versión ${v}`,
  changeStatus: {
    PERIOD_CHANGE_STATUS_COMPARED: 'comparado', PERIOD_CHANGE_STATUS_NO_PREVIOUS_DATA: 'sin datos previos',
    PERIOD_CHANGE_STATUS_SERIES_BREAK: 'no comparable (versión nueva de la rúbrica)', PERIOD_CHANGE_STATUS_SUPPRESSED: 'reservado',
    PERIOD_CHANGE_STATUS_NO_DATA: 'sin observaciones', PERIOD_CHANGE_STATUS_UNSPECIFIED: '',
  },
  thisPeriod: 'Este periodo', coverage: 'Cobertura', coverageBySite: 'Cobertura por escuela', classrooms: 'Aulas',
  observed: 'Observadas', perClassroom: 'Observaciones por aula', classroom: 'Aula', teacher: 'Docente',
  lastVisit: 'Última visita', daysSince: 'Días desde la última visita', never: 'nunca visitada', asOf: (d) => `al ${d}`,
  talk: 'Movimientos discursivos', category: 'Movimiento', speaker: 'Quién', ratePer10: 'Por cada 10 minutos de discusión',
  speakers: { SPEAKER_TEACHER: 'Docente', SPEAKER_STUDENT: 'Estudiante', SPEAKER_UNSPECIFIED: '' },
  pressShare: 'Proporción de exigencia (movimientos del docente)', reasoningShare: 'Proporción de razonamiento estudiantil', equity: 'Equidad de la participación por grupo de estudiantes',
  group: 'Grupo de estudiantes', equityRatio: 'Razón de equidad (1.0 es paridad)', equityObs: (n) => `${n} observaciones con registro de participación.`,
  calibration: 'Calibración', ownCalibration: 'Su calibración', calibrationByObserver: 'Calibración por observador', calibrationByDimension: 'Calibración por dimensión',
  observer: 'Observador', lessons: 'Clases co-observadas', pairs: 'Pares', exact: 'Acuerdo exacto', adjacent: 'Acuerdo adyacente',
  kappa: 'Kappa ponderada', band: 'Banda de Landis-Koch', target: 'Meta', meets: 'Cumple la meta', yes: 'sí', no: 'no',
  targets: (k, a) => `Meta del distrito: kappa ≥ ${k} y acuerdo adyacente ≥ ${a}.`,
  bands: { poor: 'pobre', slight: 'leve', fair: 'aceptable', moderate: 'moderada', substantial: 'considerable', almost_perfect: 'casi perfecta', '': '—' },
  goals: 'Metas', goal: 'Meta', measure: 'Medida', baseline: 'Línea base', currentValue: 'Actual', progress: 'Avance', status: 'Estado', targetDate: 'Para',
  measures: { GOAL_MEASURE_MEAN_LEVEL: 'nivel promedio', GOAL_MEASURE_SHARE_PROFICIENT: 'proporción en nivel logrado', GOAL_MEASURE_UNSPECIFIED: '' },
  goalStatus: { GOAL_STATUS_MET: 'cumplida', GOAL_STATUS_IN_PROGRESS: 'en curso', GOAL_STATUS_MISSED: 'no cumplida', GOAL_STATUS_NO_DATA: 'sin datos', GOAL_STATUS_UNSPECIFIED: '' },
  districtWide: 'todo el distrito', noGoals: 'No hay metas.', none: 'Ninguno.',
  heatmap: 'Escuelas × dimensiones', networkHeat: 'Distritos × dimensiones', heatShow: 'Mostrar', total: 'Todas las escuelas', noTeachers: 'sin docentes en la lista',
  network: 'Red', district: 'Distrito', noObservers: 'No hubo clases co-observadas en este periodo.',
  noData: 'sin observaciones', withheld: 'Reservado',
  reasons: {
    'too few teachers': (r) => `menos de ${r.min_teachers_per_cell || 3} docentes`,
    'n below threshold': (r) => `n menor que ${r.suppression_threshold || 11}`,
    complementary: () => 'revelaría una celda reservada',
  },
  suppressedLegend: 'Las celdas rayadas se reservan para proteger la privacidad y dicen por qué. “sin observaciones” significa que no se registró nada.',
  error: (s, m) => `El servidor respondió ${s}: ${m}`,
  noSites: 'No tiene escuelas asignadas.', noPage: 'No hay una página para su función aquí.',
  chooseSite: 'Escuela',
};

export const dictionaries = { en, es };
export const languages = { en: 'English', es: 'Español' };

// strings returns the dictionary of lang (English when lang is unknown).
export function strings(lang) {
  return dictionaries[lang] ?? en;
}
