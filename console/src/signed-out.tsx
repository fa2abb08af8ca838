import { useEffect, useRef } from 'preact/hooks';

/** The page before sign-in (and after sign-out, or a failed sign-in). */
export function SignedOut(props: { message?: string; error?: string; onSignIn?: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = 'Sign in · Token Warden';
    heading.current?.focus();
  }, []);
  return (
    <main id="main" class="signed-out">
      <h1 ref={heading} tabIndex={-1}>
        Token Warden
      </h1>
      <p>Approval-gated Atlassian API tokens for your organization. Sign in with your organization account.</p>
      {props.message && (
        <div class="notice info" role="status">
          {props.message}
        </div>
      )}
      {props.error && (
        <div class="notice error" role="alert">
          {props.error}
        </div>
      )}
      {props.onSignIn && (
        <button type="button" onClick={props.onSignIn}>
          Sign in
        </button>
      )}
    </main>
  );
}
