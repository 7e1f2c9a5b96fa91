// The app's texts in English and Spanish. Rubric texts come from the rubric itself (its own
// translations); these are the app's own labels.
const T = {
  en: {
    title: 'lookfor tablet', signIn: 'Sign in', signInEmail: 'Or, with your district’s own accounts, your work email:', signInEmailButton: 'Continue', signInAgain: 'Your session has ended. Sign in again to sync; nothing recorded on this tablet is lost.',
    language: 'Language', newObs: 'New observation', observations: 'Observations', none: 'No observations on this tablet yet.',
    syncNow: 'Sync now', syncing: 'Syncing…', online: 'Online', offline: 'Offline — recording continues, sync waits for the network',
    waiting: (n) => `${n} waiting to sync`, lastSync: (t) => `last synced ${t}`, never: 'never synced', persisted: 'Storage kept by the browser',
    notPersisted: 'Storage may be cleared by the browser when space is short',
    stWaiting: 'Waiting', stSynced: 'Synced', stRejected: 'Rejected', stConflict: 'In conflict', stMismatch: 'Hash differs from the server',
    draft: 'Draft', submitted: 'Submitted', site: 'Site', classroom: 'Classroom', teacher: 'Teacher', choose: 'Choose…',
    kind: 'Kind of observation', walkthrough: 'Walkthrough', informal: 'Informal', formal: 'Formal', calibration: 'Calibration co-observation',
    coKey: 'Co-observation key (shared with the other observer)', startedAt: 'Lesson started', duration: 'Lesson minutes observed',
    discussion: 'Discussion minutes', timerStart: 'Start discussion timer', timerStop: 'Stop discussion timer',
    focus: 'Lesson focus', scores: 'Rubric', descriptors: 'Level descriptors', notObserved: 'Not observed', evidence: 'Evidence',
    talk: 'Talk moves', teacherMoves: 'Teacher', studentMoves: 'Students', add: (x) => `Add one: ${x}`, sub: (x) => `Remove one: ${x}`,
    participation: 'Participation coding (optional)', enrolment: 'Students present per group', contribution: 'Code a contribution',
    recordContribution: 'Record contribution', contributions: (n) => `${n} contributions coded`,
    nextSteps: 'Next steps', privacy: 'Never write a student\'s name, initials or anything that singles a student out.',
    saveDraft: 'Save draft', submit: 'Submit', saveAmend: 'Save amendment', deleteDraft: 'Delete draft', cancel: 'Back to the list',
    saved: 'Saved on this tablet. It will sync when the network allows.', deleted: 'Draft deleted.',
    fix: 'Fix these before saving:', rejectedBy: 'The server did not store the last version:', resend: 'Correct it and save again to resend.',
    conflictTitle: 'Two versions of this observation', mine: 'This tablet\'s version', server: 'The server\'s version',
    keepServer: 'Keep the server\'s version', takeMine: 'Keep this tablet\'s version', resolveOnline: 'Connect to the network to resolve this conflict.',
    showAll: (n) => `Show all ${n} observations`, resolved: 'Conflict resolved.', edit: 'Open', resolve: 'Resolve', minutes: 'min',
    loadFailed: 'The rubric and the roster are not on this tablet yet: open the app once while online.',
  },
  es: {
    title: 'lookfor tableta', signIn: 'Iniciar sesión', signInEmail: 'O, con las cuentas de su distrito, su correo de trabajo:', signInEmailButton: 'Continuar', signInAgain: 'Su sesión terminó. Inicie sesión de nuevo para sincronizar; no se pierde nada de lo registrado en esta tableta.',
    language: 'Idioma', newObs: 'Nueva observación', observations: 'Observaciones', none: 'Todavía no hay observaciones en esta tableta.',
    syncNow: 'Sincronizar ahora', syncing: 'Sincronizando…', online: 'En línea', offline: 'Sin conexión — se sigue registrando; la sincronización espera a la red',
    waiting: (n) => `${n} por sincronizar`, lastSync: (t) => `última sincronización ${t}`, never: 'nunca sincronizado', persisted: 'El navegador conserva los datos',
    notPersisted: 'El navegador podría borrar los datos si falta espacio',
    stWaiting: 'Pendiente', stSynced: 'Sincronizada', stRejected: 'Rechazada', stConflict: 'En conflicto', stMismatch: 'El hash difiere del servidor',
    draft: 'Borrador', submitted: 'Enviada', site: 'Escuela', classroom: 'Aula', teacher: 'Docente', choose: 'Elija…',
    kind: 'Tipo de observación', walkthrough: 'Recorrido', informal: 'Informal', formal: 'Formal', calibration: 'Coobservación de calibración',
    coKey: 'Clave de coobservación (compartida con el otro observador)', startedAt: 'Inicio de la clase', duration: 'Minutos de clase observados',
    discussion: 'Minutos de discusión', timerStart: 'Iniciar cronómetro de discusión', timerStop: 'Detener cronómetro de discusión',
    focus: 'Enfoque de la clase', scores: 'Rúbrica', descriptors: 'Descriptores de nivel', notObserved: 'No observado', evidence: 'Evidencia',
    talk: 'Movimientos discursivos', teacherMoves: 'Docente', studentMoves: 'Estudiantes', add: (x) => `Sumar uno: ${x}`, sub: (x) => `Restar uno: ${x}`,
    participation: 'Codificación de la participación (opcional)', enrolment: 'Estudiantes presentes por grupo', contribution: 'Codificar una intervención',
    recordContribution: 'Registrar intervención', contributions: (n) => `${n} intervenciones codificadas`,
    nextSteps: 'Próximos pasos', privacy: 'Nunca escriba el nombre, las iniciales ni nada que identifique a un estudiante.',
    saveDraft: 'Guardar borrador', submit: 'Enviar', saveAmend: 'Guardar enmienda', deleteDraft: 'Eliminar borrador', cancel: 'Volver a la lista',
    saved: 'Guardada en esta tableta. Se sincronizará cuando haya red.', deleted: 'Borrador eliminado.',
    fix: 'Corrija lo siguiente antes de guardar:', rejectedBy: 'El servidor no guardó la última versión:', resend: 'Corríjala y guárdela de nuevo para reenviarla.',
    conflictTitle: 'Dos versiones de esta observación', mine: 'Versión de esta tableta', server: 'Versión del servidor',
    keepServer: 'Conservar la versión del servidor', takeMine: 'Conservar la versión de esta tableta', resolveOnline: 'Conéctese a la red para resolver este conflicto.',
    showAll: (n) => `Mostrar las ${n} observaciones`, resolved: 'Conflicto resuelto.', edit: 'Abrir', resolve: 'Resolver', minutes: 'min',
    loadFailed: 'La rúbrica y la lista de aulas aún no están en esta tableta: abra la aplicación una vez con conexión.',
  },
};

let lang = localStorage.getItem('lookfor.app.lang') || (navigator.language?.startsWith('es') ? 'es' : 'en');

export const language = () => lang;
export function setLanguage(l) { lang = T[l] ? l : 'en'; localStorage.setItem('lookfor.app.lang', lang); document.documentElement.lang = lang; }
export function t(key, ...args) {
  const v = T[lang][key] ?? T.en[key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}
// text picks the current language from a rubric's translated text map.
export const text = (m) => (m ? m[lang] ?? m.en ?? Object.values(m)[0] ?? '' : '');
