import { LocationProvider, Route, Router } from 'preact-iso';
import { Layout } from './components/layout';
import { Console, type ConsoleContext } from './context';
import { AllExceptions } from './pages/admin-exceptions';
import { AllRequests } from './pages/admin-requests';
import { AllTokens } from './pages/admin-tokens';
import { ApprovalReview } from './pages/approval-review';
import { PendingApprovals } from './pages/approvals';
import { ExceptionDetail } from './pages/exception-detail';
import { MyExceptions } from './pages/exceptions';
import { Home } from './pages/home';
import { Inventory } from './pages/inventory';
import { MyRequests } from './pages/my-requests';
import { MyTokens } from './pages/my-tokens';
import { NotFound } from './pages/not-found';
import { MyPersonalTokens } from './pages/personal-tokens';
import { RequestDetail } from './pages/request-detail';
import { RequestException } from './pages/request-exception';
import { RequestToken } from './pages/request-token';
import { TokenPage } from './pages/token';

/** The signed-in console: every page under `/console/`, in the frame with header and navigation. */
export function App({ context }: { context: ConsoleContext }) {
  return (
    <Console.Provider value={context}>
      <LocationProvider scope="/console">
        <Layout>
          <Router>
            <Route path="/console/" component={Home} />
            <Route path="/console/request" component={RequestToken} />
            <Route path="/console/requests" component={MyRequests} />
            <Route path="/console/requests/:requestId" component={RequestDetail} />
            <Route path="/console/tokens" component={MyTokens} />
            <Route path="/console/tokens/:tokenId" component={TokenPage} />
            <Route path="/console/approvals" component={PendingApprovals} />
            <Route path="/console/approvals/:approvalId" component={ApprovalReview} />
            <Route path="/console/personal-tokens" component={MyPersonalTokens} />
            <Route path="/console/exceptions" component={MyExceptions} />
            <Route path="/console/exceptions/new" component={RequestException} />
            <Route path="/console/exceptions/:exceptionId" component={ExceptionDetail} />
            <Route path="/console/admin/tokens" component={AllTokens} />
            <Route path="/console/admin/requests" component={AllRequests} />
            <Route path="/console/admin/inventory" component={Inventory} />
            <Route path="/console/admin/exceptions" component={AllExceptions} />
            <Route default component={NotFound} />
          </Router>
        </Layout>
      </LocationProvider>
    </Console.Provider>
  );
}
