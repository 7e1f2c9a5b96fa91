// The pages' entry point: asks who is signed in (GET /auth/session) and sends anyone who is not
// to the district's identity provider through lookfor's web sign-in.
import { session, signInURL } from '../shared/session.js';

const s = await session();
const main = document.getElementById('main');
if (!s.signed_in) {
  main.innerHTML = '';
  const a = document.createElement('a');
  a.href = signInURL(location.pathname + location.search);
  a.textContent = 'Sign in';
  main.append(a);
} else {
  document.getElementById('who').textContent = `${s.user_id} (${s.role})`;
  main.textContent = '';
}
