// The agent desk: a live queue of escalations and the conversation of the chosen one.
// Plain JavaScript, no build step. Every text that comes from the API (customers' words
// above all) is put in the page with textContent, never parsed as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const me = document.querySelector('meta[name="desk-agent"]').content;
  const labels = JSON.parse($("intent-labels").textContent);

  const CHANNELS = { messenger: "Messenger", twitter: "X", local: "Essai local" };
  const REASONS = {
    asked_for_human: "a demandé à parler à un conseiller",
    not_solved: "la réponse de l'assistant n'a pas résolu le problème",
    not_understood: "l'assistant n'a pas compris la demande",
    unreadable_attachment: "pièce jointe que l'assistant ne sait pas lire",
    answered_natively: "une personne a répondu directement depuis l'application",
  };
  const AUTHORS = {
    customer: "Client",
    bot: "Assistant",
    agent: "Conseiller",
    native: "Réponse directe",
    system: "Système",
  };
  const DELIVERY = {
    pending: "en attente d'envoi",
    sending: "envoi en cours",
    sent: "envoyé",
    failed: "échec de l'envoi",
    dropped: "non envoyé",
  };
  const FACTS = {
    email_domain: "Domaine de l'adresse e-mail",
    days: "Nombre de jours indiqué",
    business_account: "Compte professionnel",
  };
  const EVENTS = ["escalation", "message", "claimed", "resolved", "reply", "customer"];

  const queueList = $("queue");
  const transcript = $("transcript");
  const replyBox = $("reply");
  const sendButton = $("send");
  const claimButton = $("claim");
  const resolveButton = $("resolve");

  let queue = []; // open and claimed escalations, as last fetched
  let queueAt = 0; // when (ms) they were fetched: waiting times grow from there
  let current = null; // the chosen escalation with its brief and transcript
  let currentAt = 0;
  let selectedId = null;
  let queueSeq = 0;
  let detailSeq = 0;
  const unread = new Set(); // escalations with a customer message not yet looked at
  const rendered = new Map(); // transcript entry id -> its <li>, for the shown escalation
  let renderedFor = null;

  // -- words -------------------------------------------------------------------------

  function duration(seconds, precise) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return "moins d'une minute";
    const minutes = Math.floor(s / 60);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 48) {
      const rest = minutes % 60;
      return precise && hours < 10 && rest ? hours + " h " + String(rest).padStart(2, "0") : hours + " h";
    }
    return Math.floor(hours / 24) + " j";
  }

  function intentLabel(intent) {
    if (!intent || intent === "none") return "aucun problème reconnu";
    return labels[intent] || intent;
  }

  function reasonText(reason) {
    return REASONS[reason] || reason || "raison inconnue";
  }

  function customerName(item) {
    const customer = item.customer || {};
    return customer.name || customer.id || "client inconnu";
  }

  function channelName(channel) {
    return CHANNELS[channel] || channel;
  }

  function windowText(win, elapsed) {
    if (!win || win.kind === "none") return { text: "pas de délai imposé par ce canal", closed: false };
    if (win.kind === "closed") return { text: "fenêtre fermée", closed: true };
    const left = win.remaining_seconds == null ? null : win.remaining_seconds - elapsed;
    const rest = left == null ? "" : " encore " + duration(left, false);
    if (win.kind === "response") return { text: "réponse normale" + rest, closed: false };
    if (win.kind === "human_agent") return { text: "balise HUMAN_AGENT" + rest, closed: false };
    return { text: win.kind, closed: false };
  }

  function clock(epochSeconds) {
    if (epochSeconds == null) return "";
    const date = new Date(epochSeconds * 1000);
    const sameDay = date.toDateString() === new Date().toDateString();
    const time = date.toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" });
    return sameDay ? time : date.toLocaleDateString("fr-FR", { day: "numeric", month: "short" }) + " " + time;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  // -- talking to the API ------------------------------------------------------------------

  async function api(method, path, body) {
    const init = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      location.assign("/desk"); // signed out or token revoked: back to the sign-in form
      throw new Error("Session expirée.");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const problem = new Error((data && data.error) || "erreur " + response.status);
      problem.status = response.status;
      throw problem;
    }
    return data;
  }

  let toastTimer = null;
  function toast(message) {
    const box = $("toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  function announce(message) {
    $("announce").textContent = message;
  }

  // -- the queue -----------------------------------------------------------------------

  async function refreshQueue() {
    const seq = ++queueSeq;
    const [open, claimed] = await Promise.all([
      api("GET", "/api/escalations?status=open"),
      api("GET", "/api/escalations?status=claimed"),
    ]);
    if (seq !== queueSeq) return; // a newer answer is on its way
    queue = open.escalations.concat(claimed.escalations);
    queue.sort((a, b) => (a.status === b.status ? a.created_at - b.created_at : a.status === "open" ? -1 : 1));
    queueAt = Date.now();
    renderQueue();
  }

  function renderQueue() {
    const focused = document.activeElement && document.activeElement.closest("#queue") ? document.activeElement.dataset.id : null;
    const elapsed = (Date.now() - queueAt) / 1000;
    const items = queue.map((item) => {
      const li = el("li");
      const button = el("button", item.status === "claimed" ? "claimed" : "");
      button.type = "button";
      button.dataset.id = String(item.id);
      if (item.id === selectedId) button.setAttribute("aria-current", "true");
      const who = el("span", "who");
      who.append(el("span", "channel", channelName(item.channel)), document.createTextNode(customerName(item)));
      if (unread.has(item.id)) who.append(el("span", "visually-hidden", " (nouveau message)"), el("span", "unread", " ●"));
      button.append(who);
      const wait = item.waiting_seconds != null
        ? duration(item.waiting_seconds + elapsed, true)
        : "depuis " + clock(item.claimed_at || item.created_at);
      button.append(el("span", "wait", wait));
      button.append(el("span", "reason", reasonText(item.reason)));
      let state = "En attente d'un conseiller";
      if (item.status === "claimed") state = item.agent === me ? "Vous vous en occupez" : "Pris en charge par " + item.agent;
      button.append(el("span", "state" + (item.agent === me ? " mine" : ""), state));
      button.addEventListener("click", () => select(item.id));
      li.append(button);
      return li;
    });
    queueList.replaceChildren(...items);
    const open = queue.filter((item) => item.status === "open").length;
    $("queue-count").textContent = queue.length ? "(" + open + " en attente, " + (queue.length - open) + " pris en charge)" : "";
    $("queue-empty").hidden = queue.length > 0;
    document.title = (open ? "(" + open + ") " : "") + "Bureau des conseillers — Assistant Parallels";
    if (focused) {
      const again = queueList.querySelector('button[data-id="' + CSS.escape(focused) + '"]');
      if (again) again.focus();
    }
  }

  // -- the chosen escalation -----------------------------------------------------------------

  async function select(id) {
    selectedId = id;
    unread.delete(id);
    history.replaceState(null, "", "#" + id);
    renderQueue();
    await refreshDetail();
  }

  async function refreshDetail() {
    if (selectedId == null) return;
    const seq = ++detailSeq;
    let data;
    try {
      data = await api("GET", "/api/escalations/" + encodeURIComponent(selectedId));
    } catch (problem) {
      if (problem.status === 404) {
        selectedId = null;
        current = null;
        $("detail-body").hidden = true;
        $("detail-empty").hidden = false;
        return;
      }
      throw problem;
    }
    if (seq !== detailSeq) return;
    current = data;
    currentAt = Date.now();
    renderDetail();
  }

  function renderDetail() {
    if (!current) return;
    $("detail-empty").hidden = true;
    $("detail-body").hidden = false;
    $("detail-title").textContent = "Conversation avec " + customerName(current) + " (" + channelName(current.channel) + ")";
    renderBrief();
    renderActions();
    renderTranscript();
  }

  function renderBrief() {
    const brief = current.brief || {};
    const elapsed = (Date.now() - currentAt) / 1000;
    const rows = [];
    const row = (term, ...details) => {
      const dd = el("dd");
      dd.append(...details);
      rows.push(el("dt", "", term), dd);
    };
    const customer = current.customer || {};
    row("Client", document.createTextNode(
      (customer.name ? customer.name + " — " : "") + "identifiant " + (customer.id || "?") + " sur " + channelName(current.channel)));
    const intent = brief.intent !== undefined ? brief.intent : current.intent;
    const score = brief.score !== undefined ? brief.score : current.score;
    row("Problème reconnu", document.createTextNode(
      intentLabel(intent) + (score != null && intent && intent !== "none" ? " (score " + Math.round(score) + " / 100)" : "")));
    row("Raison du transfert", document.createTextNode(reasonText(current.reason)));
    const answered = brief.answered || [];
    if (answered.length) {
      const list = el("ul");
      for (const done of answered) list.append(el("li", "", intentLabel(done)));
      row("Déjà répondu par l'assistant", list);
    } else {
      row("Déjà répondu par l'assistant", document.createTextNode("rien pour l'instant"));
    }
    const facts = Object.entries(brief.facts || {});
    if (facts.length) {
      const list = el("ul");
      for (const [key, value] of facts) list.append(el("li", "", (FACTS[key] || key) + " : " + value));
      row("Ce que le client a indiqué", list);
    } else {
      row("Ce que le client a indiqué", document.createTextNode("aucune information particulière"));
    }
    const waiting = brief.waiting_seconds != null ? brief.waiting_seconds : current.waiting_seconds;
    row("Attente du client", document.createTextNode(waiting != null
      ? "depuis " + duration(waiting + elapsed, true) + " sans réponse d'une personne"
      : "aucune : une personne a répondu à son dernier message"));
    const win = windowText(current.window, elapsed);
    row(current.channel === "messenger" ? "Fenêtre Messenger" : "Fenêtre de réponse", el("span", win.closed ? "closed" : "", win.text));
    $("brief").replaceChildren(...rows);
  }

  function blockedReason() {
    if (current.status === "resolved") return "Demande close : l'assistant a repris la conversation.";
    if (current.agent && current.agent !== me) return current.agent + " s'occupe de cette conversation : vous ne pouvez pas y répondre.";
    if (current.window && current.window.kind === "closed") {
      return "Fenêtre fermée : le dernier message du client date de plus de 7 jours, Messenger refuserait la réponse. Il faut attendre qu'il écrive à nouveau.";
    }
    return null;
  }

  function renderActions() {
    const mine = current.agent === me;
    let holder = "En attente d'un conseiller. Répondre la prend en charge.";
    if (current.status === "resolved") holder = "Rendue à l'assistant.";
    else if (current.status === "claimed") holder = mine ? "Vous vous en occupez." : "Pris en charge par " + current.agent + ".";
    $("holder").textContent = holder;
    claimButton.disabled = current.status !== "open";
    resolveButton.disabled = current.status === "resolved" || (current.agent != null && !mine);
    const blocked = blockedReason();
    const wasFocused = document.activeElement === replyBox;
    replyBox.disabled = blocked != null;
    sendButton.disabled = blocked != null;
    $("reply-blocked").hidden = blocked == null;
    $("reply-blocked").textContent = blocked || "";
    if (wasFocused && !replyBox.disabled) replyBox.focus();
  }

  function renderTranscript() {
    if (renderedFor !== current.id) {
      rendered.clear();
      transcript.replaceChildren();
      renderedFor = current.id;
    }
    const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    for (const entry of current.transcript || []) {
      let li = rendered.get(entry.id);
      if (!li) {
        li = el("li", AUTHORS[entry.author] ? entry.author : "system");
        li.append(el("span", "meta"), el("p", "text"));
        transcript.append(li);
        rendered.set(entry.id, li);
      }
      const meta = li.querySelector(".meta");
      const author = el("strong", "", AUTHORS[entry.author] || entry.author);
      const parts = [];
      if (entry.author === "customer") parts.push(customerName(current));
      if (entry.author === "native" && entry.agent) parts.push("depuis " + entry.agent);
      if (entry.author === "agent" && entry.agent) parts.push(entry.agent === me ? entry.agent + " (vous)" : entry.agent);
      parts.push(clock(entry.created_at));
      if (entry.direction === "out" && entry.delivery) parts.push(DELIVERY[entry.delivery] || entry.delivery);
      meta.replaceChildren(author, document.createTextNode(" · " + parts.filter(Boolean).join(" · ")));
      meta.classList.toggle("failed", entry.delivery === "failed");
      const text = li.querySelector(".text");
      if (entry.text) {
        text.textContent = entry.text; // customer text: as text, never as markup
      } else {
        text.textContent = entry.attachments ? "(pièce jointe)" : "(message sans texte)";
      }
    }
    if (atBottom) transcript.scrollTop = transcript.scrollHeight;
  }

  // -- actions -----------------------------------------------------------------------

  async function act(button, path, body, failure) {
    if (!current) return false;
    button.disabled = true;
    try {
      await api("POST", "/api/escalations/" + encodeURIComponent(current.id) + path, body);
      return true;
    } catch (problem) {
      toast(failure(problem));
      return false;
    } finally {
      await Promise.allSettled([refreshDetail(), refreshQueue()]);
    }
  }

  claimButton.addEventListener("click", async () => {
    const done = await act(claimButton, "/claim", undefined, (problem) =>
      problem.status === 409 ? "Un autre conseiller a déjà pris cette demande." : "Prise en charge impossible (" + problem.message + ").");
    if (done) {
      announce("Demande prise en charge.");
      replyBox.focus();
    }
  });

  resolveButton.addEventListener("click", async () => {
    const done = await act(resolveButton, "/resolve", undefined, (problem) =>
      problem.status === 409 ? "Cette demande est déjà close ou tenue par quelqu'un d'autre." : "Impossible de rendre la main (" + problem.message + ").");
    if (done) announce("Conversation rendue à l'assistant.");
  });

  async function send() {
    const text = replyBox.value.trim();
    if (!text || replyBox.disabled) return;
    replyBox.disabled = true;
    const done = await act(sendButton, "/messages", { text }, (problem) => {
      if (problem.status === 400) return "Message non envoyé : il est vide ou trop long pour ce canal.";
      if (problem.status === 409) return "Message non envoyé : la demande est tenue par quelqu'un d'autre, close, ou la fenêtre du canal est fermée.";
      return "Message non envoyé (" + problem.message + ").";
    });
    replyBox.disabled = current != null && blockedReason() != null;
    if (done) {
      replyBox.value = "";
      announce("Réponse envoyée.");
    }
    if (!replyBox.disabled) replyBox.focus();
  }

  $("reply-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });

  replyBox.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing || event.shiftKey) return;
    event.preventDefault(); // Enter and Ctrl+Enter send; Shift+Enter makes a new line
    send();
  });

  // -- live updates --------------------------------------------------------------------

  let pending = null;
  let detailToo = false;
  function refreshSoon(withDetail) {
    detailToo = detailToo || withDetail;
    if (pending) return;
    pending = setTimeout(async () => {
      const detail = detailToo;
      pending = null;
      detailToo = false;
      try {
        await Promise.all([refreshQueue(), detail ? refreshDetail() : null]);
      } catch (problem) {
        toast("Mise à jour impossible : " + problem.message);
      }
    }, 100);
  }

  function onEvent(name, event) {
    let data = {};
    try {
      data = JSON.parse(event.data);
    } catch (_) {
      data = {};
    }
    const id = data.escalation_id;
    if (name === "escalation") announce("Nouvelle demande dans la file d'attente.");
    if (name === "message" && id !== selectedId) unread.add(id);
    refreshSoon(id === selectedId);
  }

  function setLive(on) {
    const live = $("live");
    live.className = "live " + (on ? "on" : "off");
    live.textContent = on ? "En direct" : "Direct interrompu, reconnexion…";
  }

  let source = null;
  function connect() {
    source = new EventSource("/api/events", { withCredentials: true });
    source.addEventListener("open", () => {
      setLive(true);
      refreshSoon(true); // catch up on what happened while disconnected
    });
    source.addEventListener("error", () => {
      setLive(false);
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error): check the session, then try again.
        source.close();
        setTimeout(() => {
          refreshQueue().catch(() => null).finally(connect);
        }, 5000);
      }
    });
    for (const name of EVENTS) source.addEventListener(name, (event) => onEvent(name, event));
  }

  // Waiting times and windows move even when nothing happens.
  setInterval(() => {
    renderQueue();
    if (current) {
      renderBrief();
      const win = current.window;
      if (win && win.remaining_seconds != null && win.remaining_seconds - (Date.now() - currentAt) / 1000 <= 0) refreshSoon(true);
    }
  }, 20000);

  window.addEventListener("pagehide", () => { if (source) source.close(); });

  const fromHash = Number.parseInt(location.hash.slice(1), 10);
  refreshQueue()
    .then(() => (Number.isInteger(fromHash) ? select(fromHash) : null))
    .catch((problem) => toast("Chargement impossible : " + problem.message));
  connect();
})();
